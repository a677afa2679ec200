# 이 파일은 solutions/step3_solution.py 에서 자동으로 만들어졌습니다 (python -m kogpt2_course make-exercises).
# TODO 부분을 채우고 실행해 보세요. 채점: python -m kogpt2_course grade --step 3
# %% [markdown]
# # Step 3 — 준비 중입니다
# 이 단계는 아직 준비되지 않았습니다. 곧 추가됩니다.

# %%
from kogpt2_course.script_runner import run_main


def main(argv=None) -> None:
    print("Step 3은(는) 아직 준비 중입니다.")


if __name__ == "__main__":
    run_main(main)
