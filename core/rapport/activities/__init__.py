"""Activities: the timeline of a contact (notes, calls, meetings, tasks, plugin kinds)."""
