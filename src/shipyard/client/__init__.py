"""The CLI's side of the API: credentials, the HTTP client, and the plane functions over it."""
