"""The language model: choosing and loading KoGPT2 or the bundled model, special tokens, decoding helpers, bits per character."""
