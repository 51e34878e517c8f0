"""The event bus: typed events, the transactional outbox, dispatch and delivery."""
