"""matmap_utils.screening.atomsets."""
