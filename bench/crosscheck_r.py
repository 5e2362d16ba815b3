"""consult's analysis against R's survey package, figure by figure.

Run from the repository root:  make bench-r  (installs R and the survey
package where missing), or
python bench/crosscheck_r.py [--replicates N] [--boot N] [--sizes 40,400].

Two seeded, skewed samples (40 and 400 respondents: age band, sex with some
"prefer not to say", five ethnic groups, twelve wards of which some have
nobody) answer a "feel safe after dark" scale, a multiple-choice "concerns"
question, a number (years lived in the area) and a top-3 ranking of
priorities. consult's pure analysis runs on them exactly as the results pages
do (feasibility and collapsing, raking with the default cap, bootstrap
replicates re-raked to the same collapsed margins, shares, means, medians,
priorities); the same data go to R through CSV files and an R script that
uses svydesign, rake / calibrate(calfun="raking", bounds=...), svymean, svyby,
svyquantile, svyciprop and svrepdesign.

What is compared, and how close it must be:

* weights: consult's uncapped raking against R's rake(); the capped weights
  against calibrate(calfun="raking", bounds=cap) (bounded raking solves the
  same constraints by another algorithm and may land elsewhere: 5e-3) and
  against rake() followed by trimWeights() (which does not re-rake: shown
  with its margin error, for information);
* point estimates (weighted shares, by group, multiple choice, mean, median,
  Borda scores): 1e-6;
* standard errors from consult's own replicate weights, given to R through
  svrepdesign(type="bootstrap") (variance = sum of squared deviations from
  the replicate mean / (R - 1), exactly consult's standard deviation with
  ddof 1): 1e-6 (1e-5 where consult sums replicates in single precision);
* design effects: R's deff uses the weighted variance with n/(n-1) and a
  finite population correction, so R's figure is converted with
  deff_R * n/(n-1) * (1 - n/N) (N: the answered respondents' weighted total)
  to consult's se^2 / (p(1-p)/n): 1e-6;
* consult's interval (Wilson on n / deff) rebuilt from R's standard error
  and design effect: 1e-6; R's svyciprop(method="beta") for information (0.03);
* standard errors against R's own bootstrap (as.svrepdesign(type="bootstrap")
  then re-calibrated in every replicate, independent random numbers): within
  15% (R draws 200 replicates by default, --boot: each SE then has ~5%
  Monte Carlo error; R's bootstrap draws n - 1 of n);
* Kish effective n of the weights: 1e-6; linearised standard error of the
  mean without replicates (weights taken as fixed): 1e-6.

Times: each side's step is timed inside its own language (R with
proc.time), and the Rscript wall clock (start-up and package loading
included) is printed too. This script measures and reports; it always exits 0.
Any MISS is printed again at the end.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consult.analysis import (  # noqa: E402
    DEFAULT_BOUNDS,
    check_feasibility,
    priorities,
    rake,
    ranks_from_lists,
    replicate_weights,
    weigh,
    weighted_share,
    wilson_interval,
)
from consult.analysis.questions import flags_set, number_summary, share_estimates  # noqa: E402

POPULATION = 300_000  # residents aged 16+; only the finite population correction sees it
TOL = 1e-10  # raking tolerance for the like-for-like weight comparison
MISSING = ("prefer_not_to_say", "dont_know")
SEEDS = {40: 11, 400: 12}
SAFE = ("very_safe", "fairly_safe")
SAFE_SCALE = ["very_safe", "fairly_safe", "fairly_unsafe", "very_unsafe", "dont_know"]
CONCERNS = ["asb", "burglary", "drugs", "speeding", "knife_crime"]
PRIORITIES = ["asb", "burglary", "drugs", "knife_crime", "road_safety", "domestic_abuse"]

AGE = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
AGE_POP = [0.17, 0.20, 0.17, 0.15, 0.13, 0.10, 0.08]
AGE_SAMPLE = [0.05, 0.10, 0.14, 0.18, 0.21, 0.19, 0.13]
SEX = ["Female", "Male"]
SEX_POP = [0.51, 0.49]
ETHNIC = [
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
]
ETHNIC_POP = [0.43, 0.08, 0.04, 0.41, 0.04]
ETHNIC_SAMPLE = [0.28, 0.05, 0.03, 0.61, 0.03]
WARDS = [f"ward_{i:02d}" for i in range(1, 13)]
WARD_POP = [0.10, 0.09, 0.08, 0.09, 0.07, 0.08, 0.09, 0.08, 0.07, 0.09, 0.08, 0.08]
# Respondents come unevenly from the wards, and wards 11 and 12 from nobody.
WARD_SAMPLE = [0.16, 0.12, 0.11, 0.10, 0.10, 0.09, 0.09, 0.08, 0.08, 0.07, 0.0, 0.0]
AREA_GROUPS = {w: f"area_{(i // 3) + 1}" for i, w in enumerate(WARDS)}
WEIGHTING = ["age_band", "sex", "ethnic_group", "area"]


def targets() -> dict[str, dict[str, float]]:
    return {
        "age_band": dict(zip(AGE, AGE_POP, strict=True)),
        "sex": dict(zip(SEX, SEX_POP, strict=True)),
        "ethnic_group": dict(zip(ETHNIC, ETHNIC_POP, strict=True)),
        "area": dict(zip(WARDS, WARD_POP, strict=True)),
    }


def sample(n: int, seed: int) -> pd.DataFrame:
    """Respondents skewed older, female and White, with answers that depend on them."""
    rng = np.random.default_rng(seed)
    age_i = rng.choice(len(AGE), n, p=AGE_SAMPLE)
    sex = rng.choice(["Female", "Male", "prefer_not_to_say"], n, p=[0.60, 0.37, 0.03])
    eth_i = rng.choice(len(ETHNIC), n, p=ETHNIC_SAMPLE)
    ward = rng.choice(WARDS, n, p=WARD_SAMPLE)
    # Feeling unsafe rises with age and is higher for women: weighting matters.
    lean = 0.25 * (age_i - 3) + 0.5 * (sex == "Female") - 0.3 * (eth_i == 3)
    u = rng.normal(lean, 1.0)
    safe = np.select([u < -0.6, u < 0.5, u < 1.3], SAFE_SCALE[:3], "very_unsafe").astype(object)
    safe[rng.random(n) < 0.06] = "dont_know"
    safe[rng.random(n) < 0.04] = None
    concerns = pd.DataFrame(
        {
            f"concerns__{c}": (rng.random(n) < p + 0.04 * (age_i - 3)).astype(float)
            for c, p in zip(CONCERNS, [0.55, 0.35, 0.40, 0.25, 0.20], strict=True)
        }
    )
    concerns.loc[rng.random(n) < 0.08, :] = np.nan
    years = np.round(rng.gamma(2.0, 4.0 + 2.5 * age_i)).astype(float)
    years[rng.random(n) < 0.07] = np.nan
    # Priorities: a few favourites with noise, ranked top 3 (some rank fewer).
    appeal = np.array([1.2, 0.6, 0.9, 0.7, 0.2, 0.3])
    ranked: list[list[str]] = []
    for i in range(n):
        if rng.random() < 0.05:
            ranked.append([])
            continue
        score = (
            appeal
            + rng.gumbel(size=len(PRIORITIES))
            + 0.3 * (age_i[i] - 3) * (np.arange(len(PRIORITIES)) == 0)
        )
        order = [PRIORITIES[j] for j in np.argsort(-score)]
        ranked.append(order[: rng.choice([1, 2, 3], p=[0.1, 0.15, 0.75])])
    frame = pd.DataFrame(
        {
            "age_band": [AGE[i] for i in age_i],
            "sex": sex,
            "ethnic_group": [ETHNIC[i] for i in eth_i],
            "area": ward,
            "safe_after_dark": safe,
            "years_lived": years,
        }
    )
    frame = pd.concat([frame, concerns], axis=1)
    return frame.join(ranks_from_lists(pd.Series(ranked), "priority", options=PRIORITIES))


@dataclass
class Row:
    quantity: str
    consult: Any  # a number, from a DataFrame cell or a float
    r: Any
    tolerance: float
    relative: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        self.consult = float(self.consult)
        self.r = float(self.r)

    @property
    def diff(self) -> float:
        return abs(self.consult - self.r)

    @property
    def ok(self) -> bool:
        if not (math.isfinite(self.consult) and math.isfinite(self.r)):
            return False
        if self.relative:
            return self.diff <= self.tolerance * max(abs(self.r), 1e-12)
        return self.diff <= self.tolerance


R_SCRIPT = r"""
suppressMessages(library(survey))
options(survey.replicates.mse = FALSE)
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; N <- as.numeric(args[2]); nboot <- as.integer(args[3])
lo <- as.numeric(args[4]); hi <- as.numeric(args[5])
set.seed(as.integer(args[6]))
d <- read.csv(file.path(dir, "data.csv"), stringsAsFactors = FALSE, na.strings = c("", "NA"))
reps <- as.matrix(read.csv(file.path(dir, "replicates.csv")))
margins <- read.csv(file.path(dir, "margins.csv"), stringsAsFactors = FALSE)
mapping <- read.csv(file.path(dir, "mapping.csv"), stringsAsFactors = FALSE)
n <- nrow(d); scale <- N / n
out <- list(); put <- function(name, value) out[[name]] <<- as.numeric(value)
vars <- unique(mapping$variable)

# Population margins of the collapsed categories, added up here from the
# original Census-style shares and consult's mapping; respondents who did not
# answer a variable keep their sample share (as consult does).
pop <- list(); sample_margins <- list()
for (v in vars) {
  col <- paste0(v, "_w")
  miss <- is.na(d[[col]])
  d[[col]][miss] <- "(missing)"
  m <- merge(margins[margins$variable == v, ], mapping[mapping$variable == v, ],
             by = c("variable", "category"))
  share <- tapply(m$share, m$weighted, sum)
  share <- share / sum(share)
  answered <- (n - sum(miss)) * scale
  freq <- data.frame(level = names(share), Freq = as.numeric(share) * answered)
  if (any(miss)) freq <- rbind(freq, data.frame(level = "(missing)", Freq = sum(miss) * scale))
  d[[col]] <- factor(d[[col]], levels = freq$level)
  names(freq)[1] <- col
  pop[[v]] <- freq
  sample_margins[[v]] <- as.formula(paste0("~", col))
}
d$safe <- as.numeric(d$safe_after_dark %in% c("very_safe", "fairly_safe"))
d$safe_answered <- !is.na(d$safe_after_dark) & d$safe_after_dark != "dont_know"
d$concerns_answered <- !is.na(d$concerns__asb)
d$years_answered <- !is.na(d$years_lived)
d$sex_g <- ifelse(is.na(d$sex) | d$sex == "prefer_not_to_say", NA, d$sex)
prio <- paste0("priority__", strsplit(args[7], ",")[[1]])
pts <- sapply(prio, function(p) ifelse(is.na(d[[p]]) | d[[p]] > 3, 0, 4 - d[[p]]))
colnames(pts) <- paste0("borda__", strsplit(args[7], ",")[[1]])
d <- cbind(d, pts)
d$ranked_any <- rowSums(!is.na(d[, prio, drop = FALSE])) > 0
d$base <- scale
des0 <- svydesign(ids = ~1, weights = ~base, data = d)

t0 <- proc.time()[["elapsed"]]
raked <- rake(des0, sample_margins, pop, control = list(maxit = 5000, epsilon = 1e-13))
put("time_rake", proc.time()[["elapsed"]] - t0)
w_rake <- weights(raked) / mean(weights(raked))

# Bounded raking: calibrate() with the cap as bounds on g = w / base, which
# is the cap relative to the mean because the calibrated total is N.
form <- as.formula(paste("~", paste(paste0(vars, "_w"), collapse = "+")))
mm <- model.matrix(form, d)
totals <- setNames(numeric(ncol(mm)), colnames(mm))
totals[["(Intercept)"]] <- N
for (v in vars) {
  col <- paste0(v, "_w")
  for (k in seq_len(nrow(pop[[v]]))) {
    name <- paste0(col, pop[[v]][[col]][k])
    if (name %in% names(totals)) totals[[name]] <- pop[[v]]$Freq[k]
  }
}
t0 <- proc.time()[["elapsed"]]
capped <- tryCatch(
  calibrate(des0, form, population = totals, calfun = "raking", bounds = c(lo, hi),
            maxit = 5000, epsilon = 1e-12),
  error = function(e) { message("calibrate with bounds: ", conditionMessage(e)); NULL })
put("time_calibrate", proc.time()[["elapsed"]] - t0)
w_cap <- if (is.null(capped)) rep(NA, n) else weights(capped) / mean(weights(capped))
trimmed <- trimWeights(raked, lower = lo * scale, upper = hi * scale, strict = TRUE)
w_trim <- weights(trimmed) / mean(weights(trimmed))
margin_gap <- function(w) {
  worst <- 0
  for (v in vars) {
    col <- paste0(v, "_w")
    got <- tapply(w, d[[col]], sum) / sum(w)
    aim <- pop[[v]]$Freq / sum(pop[[v]]$Freq)
    worst <- max(worst, abs(got[as.character(pop[[v]][[col]])] - aim), na.rm = TRUE)
  }
  worst
}
put("trim_margin_gap", margin_gap(w_trim))
put("cap_margin_gap", if (is.null(capped)) NA else margin_gap(w_cap))
write.csv(data.frame(rake = w_rake, capped = w_cap, trimmed = w_trim),
          file.path(dir, "r_weights.csv"), row.names = FALSE)

# Everything below uses consult's weights (the ones the results pages use).
kish <- function(w) sum(w)^2 / sum(w^2)
put("kish_used", kish(d$w))
put("kish_r_rake", kish(w_rake))
put("kish_r_capped", kish(w_cap))

t0 <- proc.time()[["elapsed"]]
rd <- svrepdesign(data = d, repweights = reps * scale, weights = d$w * scale,
                  type = "bootstrap", combined.weights = TRUE)
fixed <- svydesign(ids = ~1, weights = ~I(w * scale), data = d)
safe_d <- subset(rd, safe_answered)
est <- svymean(~safe, safe_d, deff = TRUE)
put("safe_share", coef(est)); put("safe_se", SE(est)); put("safe_deff", deff(est))
put("safe_n", sum(d$safe_answered)); put("safe_npop", sum(weights(safe_d, "sampling")))
ci <- svyciprop(~safe, safe_d, method = "beta")
put("safe_beta_low", attr(ci, "ci")[1]); put("safe_beta_high", attr(ci, "ci")[2])
by_sex <- svyby(~safe, ~sex_g, safe_d, svymean)
for (g in rownames(by_sex)) {
  put(paste0("safe_share_", g), by_sex[g, "safe"]); put(paste0("safe_se_", g), by_sex[g, "se"])
}
answered_only <- function(flag) svydesign(ids = ~1, weights = ~I(w * scale), data = d[d[[flag]], ])
put("safe_se_fixed", SE(svymean(~safe, answered_only("safe_answered"))))
conc <- svymean(as.formula(paste("~", paste(grep("^concerns__", names(d), value = TRUE),
                                              collapse = "+"))),
                subset(rd, concerns_answered))
for (i in seq_along(coef(conc))) {
  k <- names(coef(conc))[i]; put(paste0("share_", k), coef(conc)[i]); put(paste0("se_", k), SE(conc)[i])
}
years_d <- subset(rd, years_answered)
m <- svymean(~years_lived, years_d)
put("years_mean", coef(m)); put("years_se", SE(m))
put("years_se_fixed", SE(svymean(~years_lived, answered_only("years_answered"))))
# The same as a domain of the whole sample (R's usual subset()): n - 1 counts everyone.
put("years_se_domain", SE(svymean(~years_lived, subset(fixed, years_answered))))
q <- svyquantile(~years_lived, years_d, 0.5, qrule = "math", interval.type = "quantile")
put("years_median", coef(q)); put("years_median_se", SE(q))
bd <- subset(rd, ranked_any)
bs <- svymean(as.formula(paste("~", paste(colnames(pts), collapse = "+"))), bd)
for (k in names(coef(bs))) put(k, coef(bs)[k])
# Pairwise z tests of Borda differences, SE from the same replicates, Holm.
k <- length(coef(bs)); pv <- c(); pn <- c()
for (i in 1:(k - 1)) for (j in (i + 1):k) {
  cvec <- setNames(numeric(k), names(coef(bs))); cvec[i] <- 1; cvec[j] <- -1
  con <- svycontrast(bs, cvec)
  pv <- c(pv, 2 * pnorm(-abs(coef(con)) / SE(con)))
  pn <- c(pn, paste0("p__", names(coef(bs))[i], "__", names(coef(bs))[j]))
}
padj <- p.adjust(pv, method = "holm")
for (i in seq_along(pn)) put(pn[i], padj[i])
put("time_estimates", proc.time()[["elapsed"]] - t0)

# R's own bootstrap, every replicate re-calibrated with the cap. A replicate
# that cannot meet the margins within the cap is kept with its closest
# weights (force = TRUE; without it one such replicate stops everything).
t0 <- proc.time()[["elapsed"]]
boot <- as.svrepdesign(des0, type = "bootstrap", replicates = nboot)
boot <- tryCatch(
  calibrate(boot, form, population = totals, calfun = "raking", bounds = c(lo, hi),
            maxit = 100, epsilon = 1e-10, force = TRUE),
  error = function(e) { message("bootstrap calibrate: ", conditionMessage(e)); NULL })
put("time_boot", proc.time()[["elapsed"]] - t0)
if (!is.null(boot)) {
  put("boot_safe_se", SE(svymean(~safe, subset(boot, safe_answered))))
  bb <- svyby(~safe, ~sex_g, subset(boot, safe_answered), svymean)
  for (g in rownames(bb)) put(paste0("boot_safe_se_", g), bb[g, "se"])
  put("boot_years_se", SE(svymean(~years_lived, subset(boot, years_answered))))
  put("boot_borda_se", SE(svymean(~borda__asb, subset(boot, ranked_any))))
}
if (!is.null(capped)) put("safe_share_rcap", coef(svymean(~safe, subset(capped, safe_answered))))
put("lin_safe_se_raked", SE(svymean(~safe, subset(raked, safe_answered))))
write.csv(data.frame(name = names(out), value = unlist(out)), file.path(dir, "r_out.csv"),
          row.names = FALSE)
"""


def run_r(workdir: Path, n_boot: int, seed: int) -> tuple[dict[str, float], float, str]:
    script = workdir / "crosscheck.R"
    script.write_text(R_SCRIPT)
    lo, hi = DEFAULT_BOUNDS
    cmd = [
        "Rscript",
        "--vanilla",
        str(script),
        str(workdir),
        str(POPULATION),
        str(n_boot),
        str(lo),
        str(hi),
        str(seed),
        ",".join(PRIORITIES),
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript failed:\n{proc.stderr[-3000:]}")
    table = pd.read_csv(workdir / "r_out.csv")
    return dict(zip(table["name"], table["value"].astype(float), strict=True)), wall, proc.stderr


def crosscheck(n: int, seed: int, n_reps: int, n_boot: int) -> tuple[list[Row], list[str]]:
    frame = sample(n, seed)
    tg = targets()
    notes: list[str] = []

    t0 = time.perf_counter()
    feas = check_feasibility(frame, tg, area_groups=AREA_GROUPS)
    outcome = weigh(frame, tg, area_groups=AREA_GROUPS, tol=TOL, max_iter=5000)
    t_weigh = time.perf_counter() - t0
    for collapse in feas.collapses:
        notes.append(f"{collapse.variable}: {collapse.message}")
    if not outcome.used:
        notes.append(f"weights not used: {outcome.reason}")
    uncapped = rake(feas.frame, feas.targets, tol=TOL, max_iter=5000)
    t0 = time.perf_counter()
    reps = replicate_weights(feas.frame, feas.targets, n=n_reps, seed=seed, bounds=DEFAULT_BOUNDS)
    t_reps = time.perf_counter() - t0
    ok_cols = reps.columns[np.asarray(reps.attrs["converged"], dtype=bool)]
    left_out = len(reps.columns) - len(ok_cols)
    notes.append(f"{len(ok_cols)} of {n_reps} replicates converged ({left_out} left out)")
    all_reps = reps
    reps = reps[ok_cols]
    w = outcome.weights

    t0 = time.perf_counter()
    ws = weighted_share(
        frame,
        "safe_after_dark",
        weights=w,
        positive=SAFE,
        replicates=reps,
        missing_codes=MISSING,
    ).iloc[0]
    ws_fixed = weighted_share(
        frame, "safe_after_dark", weights=w, positive=SAFE, missing_codes=MISSING
    ).iloc[0]
    by_sex = weighted_share(
        frame,
        "safe_after_dark",
        weights=w,
        positive=SAFE,
        by="sex",
        replicates=reps,
        missing_codes=MISSING,
    ).set_index("group")
    flag_cols = [f"concerns__{c}" for c in CONCERNS]
    multi = share_estimates(
        [flags_set("concerns", frame[flag_cols], CONCERNS)],
        weights=w.to_numpy(),
        replicates=reps.to_numpy(),
    ).set_index("column")
    years = number_summary(frame["years_lived"], weights=w, replicates=reps)
    years_fixed = number_summary(frame["years_lived"], weights=w)
    pri = priorities(frame, "priority", weights=w, top_n=3, replicates=reps)
    t_estimates = time.perf_counter() - t0
    # For information: the same standard error had no replicate been left out.
    ws_all = weighted_share(
        frame,
        "safe_after_dark",
        weights=w,
        positive=SAFE,
        replicates=all_reps,
        missing_codes=MISSING,
    ).iloc[0]

    with tempfile.TemporaryDirectory(prefix="consult-r-") as tmp:
        workdir = Path(tmp)
        data = feas.frame[WEIGHTING].add_suffix("_w")
        data = pd.concat([data, frame.drop(columns=WEIGHTING), frame[["sex"]]], axis=1)
        data["w"] = w.to_numpy()
        for v in WEIGHTING:
            col = f"{v}_w"
            data.loc[data[col].isin(list(MISSING)), col] = np.nan
        data.to_csv(workdir / "data.csv", index=False)
        reps.to_csv(workdir / "replicates.csv", index=False)
        pd.DataFrame(
            [(v, c, s) for v, shares in tg.items() for c, s in shares.items()],
            columns=["variable", "category", "share"],
        ).to_csv(workdir / "margins.csv", index=False)
        mapping = []
        collapsed = {c.variable: c.mapping for c in feas.collapses if c.action == "collapsed"}
        for v in feas.targets:
            for cat in tg[v]:
                mapping.append((v, cat, collapsed.get(v, {}).get(cat, cat)))
        pd.DataFrame(mapping, columns=["variable", "category", "weighted"]).to_csv(
            workdir / "mapping.csv", index=False
        )
        r, wall, stderr = run_r(workdir, n_boot, seed)
        r_w = pd.read_csv(workdir / "r_weights.csv")
    if stderr.strip():
        notes.extend(f"R: {line}" for line in stderr.strip().splitlines()[-4:])

    rows: list[Row] = []
    c_unc = uncapped.weights.to_numpy()
    rows.append(
        Row(
            "weights, uncapped rake (max |diff|)",
            float(np.abs(c_unc - r_w["rake"].to_numpy()).max()),
            0.0,
            1e-6,
        )
    )
    if r_w["capped"].notna().all():
        rows.append(
            Row(
                "weights, capped: calibrate(bounds) (max |diff|)",
                float(np.abs(w.to_numpy() - r_w["capped"].to_numpy()).max()),
                0.0,
                5e-3,
                note="bounded raking: same constraints, another solution",
            )
        )
    rows.append(
        Row(
            "weights, capped: rake+trimWeights (max |diff|)",
            float(np.abs(w.to_numpy() - r_w["trimmed"].to_numpy()).max()),
            0.0,
            math.inf,
            note=f"info: trimWeights leaves margins off by {r['trim_margin_gap']:.3f}",
        )
    )
    if "safe_share_rcap" in r:
        rows.append(
            Row(
                "feel safe: share, consult's vs R's capped weights",
                ws["weighted_share"],
                r["safe_share_rcap"],
                1e-3,
                note="what the other capped solution changes",
            )
        )
    rows.append(
        Row(
            "R calibrate(bounds): worst margin gap",
            float(outcome.rake.max_margin_error) if outcome.rake else math.nan,
            r["cap_margin_gap"],
            1e-6,
        )
    )
    rows.append(
        Row(
            "max weight (x mean), consult used vs R calibrate",
            float(w.max()),
            float(r_w["capped"].max()),
            1e-3,
        )
    )
    rows.append(
        Row(
            "Kish effective n (weights used)",
            outcome.rake.effective_sample_size if outcome.used and outcome.rake else float(n),
            r["kish_used"],
            1e-6,
        )
    )
    rows.append(
        Row(
            "Kish effective n, uncapped: consult vs R rake",
            uncapped.effective_sample_size,
            r["kish_r_rake"],
            1e-6,
        )
    )
    rows.append(Row("feel safe: weighted share", ws["weighted_share"], r["safe_share"], 1e-6))
    rows.append(Row("feel safe: SE (same replicates)", ws["se"], r["safe_se"], 1e-6))
    n_safe = r["safe_n"]
    r_deff = r["safe_deff"] * n_safe / (n_safe - 1) * (1 - n_safe / r["safe_npop"])
    rows.append(Row("feel safe: design effect", ws["deff"], r_deff, 1e-6))
    rows.append(
        Row("feel safe: estimate's effective n", ws["estimate_effective_n"], n_safe / r_deff, 1e-4)
    )
    r_low, r_high = wilson_interval(r["safe_share"], n_safe / r_deff)
    rows.append(
        Row("feel safe: interval low (Wilson on n/deff)", ws["weighted_low"], float(r_low), 1e-6)
    )
    rows.append(
        Row("feel safe: interval high (Wilson on n/deff)", ws["weighted_high"], float(r_high), 1e-6)
    )
    rows.append(
        Row(
            "feel safe: low vs svyciprop(beta)",
            ws["weighted_low"],
            r["safe_beta_low"],
            0.03,
            note="info: another interval",
        )
    )
    rows.append(
        Row(
            "feel safe: high vs svyciprop(beta)",
            ws["weighted_high"],
            r["safe_beta_high"],
            0.03,
            note="info: another interval",
        )
    )
    for g in SEX:
        if g in by_sex.index and f"safe_share_{g}" in r:
            rows.append(
                Row(
                    f"feel safe, {g}: share",
                    by_sex.loc[g, "weighted_share"],
                    r[f"safe_share_{g}"],
                    1e-6,
                )
            )
            rows.append(
                Row(
                    f"feel safe, {g}: SE (same replicates)",
                    by_sex.loc[g, "se"],
                    r[f"safe_se_{g}"],
                    1e-6,
                )
            )
    for c in CONCERNS:
        col = f"concerns__{c}"
        rows.append(
            Row(f"concerns {c}: share", multi.loc[col, "weighted_share"], r[f"share_{col}"], 1e-6)
        )
        rows.append(
            Row(
                f"concerns {c}: SE (same replicates)",
                multi.loc[col, "se"],
                r[f"se_{col}"],
                1e-5,
                note="float32 sums",
            )
        )
    rows.append(Row("years lived: weighted mean", years.weighted_mean, r["years_mean"], 1e-6))
    rows.append(
        Row(
            "years lived: SE of mean (same replicates)", years.weighted_mean_se, r["years_se"], 1e-6
        )
    )
    rows.append(
        Row(
            "years lived: SE of mean, linearised, fixed weights",
            years_fixed.weighted_mean_se,
            r["years_se_fixed"],
            1e-6,
        )
    )
    rows.append(
        Row(
            "years lived: SE, linearised, vs R domain (subset)",
            years_fixed.weighted_mean_se,
            r["years_se_domain"],
            math.inf,
            note="info: R counts non-answers in n - 1",
        )
    )
    rows.append(
        Row(
            "years lived: weighted median (qrule=math)",
            years.weighted_median,
            r["years_median"],
            1e-6,
        )
    )
    z = 1.959963984540054
    rows.append(
        Row(
            "years lived: SE of median (same replicates)",
            (years.weighted_median_high - years.weighted_median_low) / (2 * z),
            r["years_median_se"],
            1e-6,
        )
    )
    table = pri.table.set_index("option")
    for p in PRIORITIES:
        rows.append(
            Row(f"priority {p}: Borda score", table.loc[p, "borda"], r[f"borda__{p}"], 1e-6)
        )
    if pri.p_values is not None:
        adjusted = pri.p_values.loc[PRIORITIES, PRIORITIES].to_numpy(dtype=np.float64)
        diffs = [
            abs(adjusted[i, j] - r[f"p__borda__{a}__borda__{b}"])
            for i, a in enumerate(PRIORITIES)
            for j, b in enumerate(PRIORITIES)
            if j > i
        ]
        rows.append(Row("priorities: Holm-adjusted p-values (max |diff|)", max(diffs), 0.0, 1e-6))
    # Against R's own bootstrap: independent random numbers, so only roughly.
    if "boot_safe_se" in r:
        rows.append(
            Row("feel safe: SE vs R's own bootstrap", ws["se"], r["boot_safe_se"], 0.15, True)
        )
        for g in SEX:
            if f"boot_safe_se_{g}" in r and g in by_sex.index:
                rows.append(
                    Row(
                        f"feel safe, {g}: SE vs R's own bootstrap",
                        by_sex.loc[g, "se"],
                        r[f"boot_safe_se_{g}"],
                        0.15,
                        True,
                    )
                )
        rows.append(
            Row(
                "feel safe: SE with every replicate vs R's own bootstrap",
                ws_all["se"],
                r["boot_safe_se"],
                math.inf,
                note="info: non-converged replicates kept, as R keeps them",
            )
        )
        rows.append(
            Row(
                "years lived: SE vs R's own bootstrap",
                years.weighted_mean_se,
                r["boot_years_se"],
                0.15,
                True,
            )
        )
        rows.append(
            Row(
                "asb Borda: SE vs R's own bootstrap",
                float(_borda_se(frame, reps, "asb")),
                r["boot_borda_se"],
                0.15,
                True,
            )
        )
    rows.append(
        Row(
            "feel safe: SE vs R linearised (raked design)",
            ws["se"],
            r["lin_safe_se_raked"],
            0.15,
            True,
            note="info: uncapped raking, linearised",
        )
    )
    rows.append(
        Row(
            "feel safe: Kish SE (no replicates) vs R fixed weights",
            ws_fixed["se"],
            r["safe_se_fixed"],
            0.15,
            True,
            note="info: Kish approximation",
        )
    )
    per_rep_consult = t_reps / n_reps
    per_rep_r = r["time_boot"] / n_boot
    timing = (
        f"consult: weigh {t_weigh * 1000:.1f} ms, estimates {t_estimates * 1000:.1f} ms, "
        f"{n_reps} capped replicates {t_reps:.1f} s ({per_rep_consult * 1000:.1f} ms each) | "
        f"R: rake {r['time_rake'] * 1000:.0f} ms, calibrate(bounds) "
        f"{r['time_calibrate'] * 1000:.0f} ms, estimates {r['time_estimates'] * 1000:.0f} ms, "
        f"{n_boot} capped bootstrap calibrations {r['time_boot']:.1f} s "
        f"({per_rep_r * 1000:.1f} ms each); Rscript wall {wall:.1f} s\n"
        f"  ratio (R / consult): rake + estimates "
        f"{(r['time_rake'] + r['time_estimates']) / (t_weigh + t_estimates):.1f}x; "
        f"one capped replicate {per_rep_r / per_rep_consult:.2f}x"
    )
    notes.append(timing)
    return rows, notes


def _borda_se(frame: pd.DataFrame, reps: pd.DataFrame, option: str) -> float:
    """consult's replicate SE of one Borda score (the priorities' own formula)."""
    cols = [f"priority__{p}" for p in PRIORITIES]
    ranks = frame[cols].to_numpy(dtype=np.float64)
    answered = np.isfinite(ranks).any(axis=1)
    r = frame[f"priority__{option}"].to_numpy(dtype=np.float64)
    points = np.where(np.isfinite(r) & (r <= 3), 4 - np.nan_to_num(r), 0.0)[answered]
    rep = reps.to_numpy()[answered]
    return float(np.std((rep.T @ points) / rep.sum(axis=0), ddof=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--boot", type=int, default=200, help="R's own bootstrap replicates")
    parser.add_argument("--sizes", default="40,400", help="sample sizes, comma-separated")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    if shutil.which("Rscript") is None:
        print("Rscript not found: run `make bench-r` (installs R and the survey package).")
        return 0
    misses: list[str] = []
    for n, seed in ((n, SEEDS.get(n, n)) for n in sizes):
        print(f"\n== {n} respondents (seed {seed}) ==")
        try:
            rows, notes = crosscheck(n, seed, args.replicates, args.boot)
        except RuntimeError as exc:
            print(f"MISS  R did not run: {exc}")
            misses.append(f"{n}: R did not run")
            continue
        print(f"{'quantity':<54} {'consult':>12} {'R':>12} {'|diff|':>10} {'tolerance':>10}")
        for row in rows:
            tol = (
                "info"
                if math.isinf(row.tolerance)
                else (f"{row.tolerance:.0%} rel" if row.relative else f"{row.tolerance:.0e}")
            )
            verdict = "PASS" if row.ok else "MISS"
            print(
                f"{row.quantity:<54} {row.consult:>12.6f} {row.r:>12.6f} {row.diff:>10.2e} "
                f"{tol:>10}  {verdict}{'  (' + row.note + ')' if row.note else ''}"
            )
            if not row.ok:
                misses.append(f"{n}: {row.quantity}: consult {row.consult:.6g}, R {row.r:.6g}")
        for note in notes:
            print(f"  {note}")
    print()
    if misses:
        print(f"{len(misses)} MISS:")
        for m in misses:
            print(f"  MISS  {m}")
    else:
        print("Every figure agrees with R within its tolerance.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
