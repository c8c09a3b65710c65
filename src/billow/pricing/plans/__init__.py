"""Plans: subscription fee, usage charges (and their filters), fixed charges, minimum commitment,
usage thresholds, taxes and metadata; child plans created by subscription overrides."""
