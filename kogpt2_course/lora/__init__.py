"""Step 8 (LoRA chatbot): multi-turn dialogue readers (AI Hub 감성 대화 schema and its bundled sample, XPersona, Chatbot_data), prompt fitting, LoRA training and chat helpers."""
