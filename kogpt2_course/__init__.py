"""KoGPT2 텍스트 생성 강의의 지원 패키지 (support package of the KoGPT2 course)."""
