//! England's age structure and the prevalence of the long-term conditions the synthetic population carries, with
//! where the figures come from. Rounded: the population is meant to have England's *shape*, not to stand in for it.
//!
//! **Ages.** ONS, *Population estimates for the UK, England, Wales, Scotland and Northern Ireland: mid-2022*
//! (released 2024), England by five-year band, rounded to about the nearest ten thousand (about 57.6 million in
//! all; 18.8% aged 65 and over).
//!
//! **Conditions.** NHS England, *Quality and Outcomes Framework (QOF), 2023-24* — register prevalence as QOF
//! reports it, the register divided by the practice list (all ages) or by the list of the ages the register
//! counts:
//!
//! | condition | prevalence | of | source |
//! | --- | --- | --- | --- |
//! | hypertension | 14.8% | all ages | QOF 2023-24 HYP register |
//! | diabetes (type 1 and 2) | 7.7% | 17 and over | QOF 2023-24 DM register |
//! | — of which type 1 | about 8% of diabetes | 17 and over | National Diabetes Audit 2022-23 (8% type 1, 90% type 2) |
//! | asthma | 6.5% | all ages (register from 6) | QOF 2023-24 AST register |
//! | COPD | 1.9% | all ages | QOF 2023-24 COPD register |
//! | heart failure | 1.1% | all ages | QOF 2023-24 HF register |
//! | depression | about 13% | 18 and over | QOF 2023-24 DEP register |
//! | chronic kidney disease, stages 3–5 | about 4% | 18 and over | QOF 2023-24 CKD register |
//! | anxiety (generalised anxiety disorder) | 5.9% | 16 and over | NHS England, *Adult Psychiatric Morbidity Survey 2014* (no QOF register) |
//!
//! **Age shape.** Each condition has a relative risk by age (its curve below: rising steeply with age for
//! hypertension, type 2 diabetes, COPD, heart failure and kidney disease, after the Health Survey for England and
//! QOF age breakdowns; flat for asthma; falling slightly after middle age for depression and anxiety). The curve is
//! scaled by one factor per condition, found by bisection over the single-year age distribution, so that the
//! population-weighted prevalence over the register's ages equals the figure above ([`Calibration`]). Conditions
//! are drawn independently given age, so having several (multimorbidity) rises with age as a result, as it does
//! in England (about a quarter of adults, and most people over 75, have two or more).

/// The conditions the generator draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    Hypertension,
    Type1Diabetes,
    Type2Diabetes,
    Asthma,
    Copd,
    HeartFailure,
    Depression,
    Anxiety,
    Ckd,
}

impl Condition {
    pub const ALL: [Condition; 9] = [
        Condition::Hypertension,
        Condition::Type1Diabetes,
        Condition::Type2Diabetes,
        Condition::Asthma,
        Condition::Copd,
        Condition::HeartFailure,
        Condition::Depression,
        Condition::Anxiety,
        Condition::Ckd,
    ];

    /// The SNOMED CT concept and its display, as a GP system would send it.
    pub fn snomed(self) -> (&'static str, &'static str) {
        match self {
            Condition::Hypertension => ("59621000", "Essential hypertension"),
            Condition::Type1Diabetes => ("46635009", "Type 1 diabetes mellitus"),
            Condition::Type2Diabetes => ("44054006", "Type 2 diabetes mellitus"),
            Condition::Asthma => ("195967001", "Asthma"),
            Condition::Copd => ("13645005", "Chronic obstructive lung disease"),
            Condition::HeartFailure => ("84114007", "Heart failure"),
            Condition::Depression => ("35489007", "Depressive disorder"),
            Condition::Anxiety => ("21897009", "Generalized anxiety disorder"),
            Condition::Ckd => ("433144002", "Chronic kidney disease stage 3"),
        }
    }

    /// A short code for ids in the record ("hypertension").
    pub fn slug(self) -> &'static str {
        match self {
            Condition::Hypertension => "hypertension",
            Condition::Type1Diabetes => "type-1-diabetes",
            Condition::Type2Diabetes => "type-2-diabetes",
            Condition::Asthma => "asthma",
            Condition::Copd => "copd",
            Condition::HeartFailure => "heart-failure",
            Condition::Depression => "depression",
            Condition::Anxiety => "anxiety",
            Condition::Ckd => "ckd",
        }
    }

    /// Mental health conditions are labelled so in the record (`meta.security` PSY), as GP systems do.
    pub fn is_mental_health(self) -> bool {
        matches!(self, Condition::Depression | Condition::Anxiety)
    }
}

/// A condition's target prevalence and its relative risk by age.
pub struct Prevalence {
    pub condition: Condition,
    /// The share of people aged `from_age` and over on the register.
    pub target: f64,
    /// The register's (and the target's) lowest age.
    pub from_age: u8,
    /// Relative risk: (from this age, weight), ascending; ages before the first entry have none.
    pub curve: &'static [(u8, f64)],
}

pub const PREVALENCE: [Prevalence; 9] = [
    Prevalence {
        condition: Condition::Hypertension,
        target: 0.148,
        from_age: 0,
        curve: &[
            (18, 0.01),
            (25, 0.025),
            (35, 0.06),
            (45, 0.14),
            (55, 0.28),
            (65, 0.42),
            (75, 0.55),
            (85, 0.60),
        ],
    },
    Prevalence {
        condition: Condition::Type1Diabetes,
        target: 0.077 * 0.08,
        from_age: 17,
        curve: &[(1, 0.35), (17, 1.0), (65, 0.8), (80, 0.6)],
    },
    Prevalence {
        condition: Condition::Type2Diabetes,
        // Drawn only for people without type 1, so a touch more of the rest.
        target: 0.077 * 0.92 / (1.0 - 0.077 * 0.08),
        from_age: 17,
        curve: &[
            (17, 0.004),
            (25, 0.01),
            (35, 0.03),
            (45, 0.07),
            (55, 0.13),
            (65, 0.18),
            (75, 0.21),
            (85, 0.18),
        ],
    },
    Prevalence {
        condition: Condition::Asthma,
        target: 0.065,
        from_age: 0,
        curve: &[(6, 1.0), (18, 0.9), (45, 1.0), (65, 1.1)],
    },
    Prevalence {
        condition: Condition::Copd,
        target: 0.019,
        from_age: 0,
        curve: &[(35, 0.005), (45, 0.015), (55, 0.035), (65, 0.065), (75, 0.09)],
    },
    Prevalence {
        condition: Condition::HeartFailure,
        target: 0.011,
        from_age: 0,
        curve: &[(45, 0.002), (55, 0.006), (65, 0.017), (75, 0.045), (85, 0.09)],
    },
    Prevalence {
        condition: Condition::Depression,
        target: 0.13,
        from_age: 18,
        curve: &[(18, 1.0), (25, 1.15), (45, 1.1), (55, 1.0), (65, 0.8), (75, 0.75)],
    },
    Prevalence {
        condition: Condition::Anxiety,
        target: 0.059,
        from_age: 16,
        curve: &[(16, 1.2), (25, 1.1), (55, 1.0), (65, 0.7), (75, 0.5)],
    },
    Prevalence {
        condition: Condition::Ckd,
        target: 0.040,
        from_age: 18,
        curve: &[(18, 0.002), (45, 0.01), (55, 0.03), (65, 0.08), (75, 0.2), (85, 0.35)],
    },
];

/// England by five-year age band: (first age, last age, thousands of people). The last band is 90 to 99.
pub const AGE_BANDS: [(u8, u8, u32); 19] = [
    (0, 4, 3_170),
    (5, 9, 3_420),
    (10, 14, 3_560),
    (15, 19, 3_330),
    (20, 24, 3_450),
    (25, 29, 3_700),
    (30, 34, 3_900),
    (35, 39, 3_850),
    (40, 44, 3_690),
    (45, 49, 3_500),
    (50, 54, 3_890),
    (55, 59, 3_880),
    (60, 64, 3_420),
    (65, 69, 2_940),
    (70, 74, 2_810),
    (75, 79, 2_260),
    (80, 84, 1_430),
    (85, 89, 860),
    (90, 99, 540),
];

/// The oldest age drawn.
pub const MAX_AGE: usize = 99;

/// The share of people of each single year of age, 0 to [`MAX_AGE`].
pub fn age_weights() -> [f64; MAX_AGE + 1] {
    let total: f64 = AGE_BANDS.iter().map(|b| f64::from(b.2)).sum();
    let mut w = [0.0; MAX_AGE + 1];
    for (lo, hi, n) in AGE_BANDS {
        let years = f64::from(hi - lo + 1);
        for age in lo..=hi {
            w[usize::from(age)] = f64::from(n) / total / years;
        }
    }
    w
}

/// The relative risk at `age` from a curve.
fn relative(curve: &[(u8, f64)], age: usize) -> f64 {
    curve
        .iter()
        .take_while(|(from, _)| usize::from(*from) <= age)
        .last()
        .map_or(0.0, |(_, w)| *w)
}

/// No single-year probability goes above this.
const CAP: f64 = 0.9;

/// The probability of each condition at each single year of age, scaled to the targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Each condition's probability by age.
    pub probability: Vec<(Condition, [f64; MAX_AGE + 1])>,
}

impl Calibration {
    pub fn new() -> Calibration {
        let weights = age_weights();
        let probability = PREVALENCE
            .iter()
            .map(|p| {
                let from = usize::from(p.from_age);
                let denominator: f64 = weights[from..].iter().sum();
                let share = |k: f64| -> f64 {
                    (from..=MAX_AGE)
                        .map(|a| weights[a] * (k * relative(p.curve, a)).min(CAP))
                        .sum::<f64>()
                        / denominator
                };
                // The share rises with k: bisect for the target.
                let (mut lo, mut hi) = (0.0_f64, 1_000.0_f64);
                for _ in 0..100 {
                    let mid = (lo + hi) / 2.0;
                    if share(mid) < p.target {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let k = (lo + hi) / 2.0;
                let mut out = [0.0; MAX_AGE + 1];
                for (a, slot) in out.iter_mut().enumerate() {
                    *slot = (k * relative(p.curve, a)).min(CAP);
                }
                (p.condition, out)
            })
            .collect();
        Calibration { probability }
    }

    pub fn chance(&self, condition: Condition, age: u8) -> f64 {
        self.probability
            .iter()
            .find(|(c, _)| *c == condition)
            .and_then(|(_, p)| p.get(usize::from(age).min(MAX_AGE)))
            .copied()
            .unwrap_or(0.0)
    }
}

impl Default for Calibration {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_meets_every_target_exactly_in_expectation() {
        let c = Calibration::new();
        let w = age_weights();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        for p in &PREVALENCE {
            let from = usize::from(p.from_age);
            let den: f64 = w[from..].iter().sum();
            let got: f64 = (from..=MAX_AGE)
                .map(|a| w[a] * c.chance(p.condition, a as u8))
                .sum::<f64>()
                / den;
            assert!(
                (got - p.target).abs() < 1e-6,
                "{:?}: {got} vs {}",
                p.condition,
                p.target
            );
        }
        assert_eq!(PREVALENCE.len(), Condition::ALL.len());
    }
}
