"""한국어 이름을 단 그림: 글꼴 설정과 저장(figure), 토큰 분포·지표·다양성–품질 그림(distributions), 학급 채점 히트맵(grades)."""
