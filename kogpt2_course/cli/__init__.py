"""Command-line plumbing shared by every script: the Korean argparse parser, the user-error type, width-aware wrapping."""
