"""Cases (案件): intake, the closed-loop workflow, time limits."""
