"""The platform-neutral /meet command layer: parsing, use cases, role policy, replies, store."""
