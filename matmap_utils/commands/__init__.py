"""One module per ``matmap`` subcommand; each defines ``register(subparsers)``."""
