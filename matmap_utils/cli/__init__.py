"""matmap_utils.cli — the ``matmap`` command: :mod:`~matmap_utils.cli.main` and one module per
subcommand (book, data, describe, diffusion, map, md, megnet, migrate, run, screen), listed in
:data:`matmap_utils.cli.main.COMMANDS`.  Only the chosen subcommand's module is imported."""
