"""The plugin system: manifests, discovery, enabling, presets."""
