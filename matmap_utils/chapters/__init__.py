"""matmap_utils.chapters."""
