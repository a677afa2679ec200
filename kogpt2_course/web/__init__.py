"""The classroom web demo (Step 5): the Flask app, request validation, the server."""
