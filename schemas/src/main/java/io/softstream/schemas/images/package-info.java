/**
 * What an encoded image's first bytes say, read without decoding a pixel: the format from its magic
 * bytes, the dimensions its header declares, and the size limits every component applies (the
 * encode workers and the ingest gate share {@link io.softstream.schemas.images.ImageLimits}).
 */
package io.softstream.schemas.images;
