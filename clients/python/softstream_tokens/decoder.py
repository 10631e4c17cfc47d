"""Tokens back to images with a model folder's ``decoder.onnx`` (needs onnxruntime).

The graph: input ``tokens`` float32 ``[batch, token_count, token_dim]``, output ``images`` float32
``[batch, channels, size, size]`` in [-1, 1] (the model's card, ``model.json``, gives the sizes).
"""
import hashlib
import json
import os

import numpy as np


class TokenDecoder:
    """The decoder of one model folder (e.g. ``models/softvq-fmnist-32-next``)."""

    def __init__(self, model_dir, threads=0):
        self.model_dir = model_dir
        with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
            self.card = json.load(f)
        cfg = self.card["config"]
        self.name = self.card.get("name")
        self.token_count, self.token_dim = cfg["tokens"], cfg["code_dim"]
        self.channels, self.image_size = cfg["channels"], cfg["image_size"]
        path = os.path.join(model_dir, "decoder.onnx")
        if not os.path.isfile(path):
            raise FileNotFoundError("%s has no decoder.onnx: export it first (softstream export --model %s)"
                                    % (model_dir, model_dir))
        self._check_export()
        self._codebook = None
        try:
            import onnxruntime
        except ImportError as e:
            raise ImportError("decoding tokens needs onnxruntime: pip install onnxruntime "
                              "(or pip install 'softstream-tokens[decode]')") from e
        opts = onnxruntime.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    def _check_export(self):
        # As the Java runtimes do: refuse ONNX files exported from other weights than those in the folder.
        recorded = self.card.get("training", {}).get("onnx_weights_sha256")
        params = os.path.join(self.model_dir, "decoder.params")
        if not recorded or "decoder.params" not in recorded or not os.path.isfile(params):
            return
        with open(params, "rb") as f:
            now = hashlib.sha256(f.read()).hexdigest()
        if now != recorded["decoder.params"]:
            raise ValueError("decoder.onnx in %s was exported from other weights than decoder.params now there; "
                             "re-export it: softstream export --model %s" % (self.model_dir, self.model_dir))

    @property
    def codebook(self):
        """The model's L2-normalised codebook [G, K, d], read from encoder.onnx on first use (topk/codes)."""
        if self._codebook is None:
            from .codec import read_codebook
            self._codebook = read_codebook(self.model_dir)
        return self._codebook

    def tokens_of(self, t):
        """The token values of a :class:`~softstream_tokens.reader.Tokens`, whatever its payload encoding."""
        if getattr(t, "tokens", None) is not None:
            return t.tokens
        from .reader import unpack_tokens
        return unpack_tokens(t.record, self.codebook)

    def decode(self, tokens):
        """``[token_count, token_dim]`` or ``[batch, token_count, token_dim]`` tokens (any float dtype, or
        :class:`~softstream_tokens.reader.Tokens`, or a list of them) to float32 pixels
        ``[batch, channels, size, size]`` in [-1, 1]."""
        if isinstance(tokens, (list, tuple)):
            tokens = np.stack([self.tokens_of(t) if hasattr(t, "record") else t for t in tokens])
        tokens = np.asarray(self.tokens_of(tokens) if hasattr(tokens, "record") else tokens, dtype=np.float32)
        if tokens.ndim == 2:
            tokens = tokens[None]
        if tokens.shape[1:] != (self.token_count, self.token_dim):
            raise ValueError("tokens of shape %s do not fit %s's decoder, which takes [batch, %d, %d]"
                             % (tokens.shape, self.model_dir, self.token_count, self.token_dim))
        return self._session.run(["images"], {"tokens": np.ascontiguousarray(tokens)})[0]

    @staticmethod
    def to_uint8(images):
        """Pixels in [-1, 1] ``[batch, C, H, W]`` to 8-bit images ``[batch, H, W]`` (grey) or
        ``[batch, H, W, C]``, rounded as the Java workers round (half up)."""
        b = np.clip(np.floor((np.asarray(images, dtype=np.float32) + 1.0) * 127.5 + 0.5), 0, 255).astype(np.uint8)
        return b[:, 0] if b.shape[1] == 1 else np.transpose(b, (0, 2, 3, 1))
