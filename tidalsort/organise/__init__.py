"""Stage 2: group the analysed sounds (by family, by sound) and order them so neighbours sound alike."""
