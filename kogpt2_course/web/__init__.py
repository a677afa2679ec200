"""The classroom web demo (Step 5): the Flask app, request validation, the server, and the lab pieces (batched and streamed generation, content filter, A/B votes)."""
