"""matmap_utils.materials_map."""
