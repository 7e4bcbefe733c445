-- Overdue care plan reviews already flagged to the person and their named contact, once per review date.
CREATE TABLE care_plan_review_flags (
    plan_id UUID NOT NULL REFERENCES care_plans (id),
    review_date TEXT NOT NULL,
    flagged_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (plan_id, review_date)
);
