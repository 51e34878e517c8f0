"""Assignment rules: who becomes the owner of a new contact or lead."""
