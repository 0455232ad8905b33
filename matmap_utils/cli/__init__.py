"""matmap_utils.cli."""
