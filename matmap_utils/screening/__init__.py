"""matmap_utils.screening."""
