"""Read Softstream TokenRecords from Kafka as numpy arrays, and decode them to images.

    from softstream_tokens import TokenReader
    with TokenReader("localhost:9092", "http://localhost:8081", topic="tokens") as reader:
        for t in reader.read(max_records=10, timeout=30):
            print(t.image_id, t.model_name, t.model_version, t.tokens.shape, t.tokens.dtype)

Decoding needs onnxruntime (``pip install softstream-tokens[decode]``), imported only by
:class:`softstream_tokens.decoder.TokenDecoder`.
"""
from .wire import RegistryClient, WireFormatError, decode_value
from .reader import Tokens, TokenReader, unpack_tokens

__all__ = ["RegistryClient", "WireFormatError", "decode_value", "Tokens", "TokenReader", "unpack_tokens",
           "TokenDecoder"]
__version__ = "0.1.0"


def __getattr__(name):
    # softstream_tokens.TokenDecoder without importing onnxruntime on `import softstream_tokens`
    if name == "TokenDecoder":
        from .decoder import TokenDecoder
        return TokenDecoder
    raise AttributeError(name)
