"""Step 7 (Q/A dialogue with the HF Trainer): data readers and writers, the bundled Q/A sample, training and evaluation helpers, the chat loop."""
