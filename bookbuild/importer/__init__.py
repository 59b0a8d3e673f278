"""Import a received manuscript into clean book sources (`book/`)."""
