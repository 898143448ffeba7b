"""The platforms' own machine-readable contracts, as the simulators and tests apply them:
Meta's from the official facebook-business SDK, Pinterest's OpenAPI description."""
