/**
 * The packed token layout inside a {@code TokenRecord} ({@link
 * io.softstream.schemas.tokens.TokenPacking}), for the workers that write tokens and the consumers
 * that read them.
 */
package io.softstream.schemas.tokens;
