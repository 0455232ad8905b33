"""matmap_utils.core."""
