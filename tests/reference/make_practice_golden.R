# Golden values from R for tests/reference/test_practice_against_R.py (analysis.practice): regenerate BY HAND,
# never in CI:   Rscript tests/reference/make_practice_golden.R
#
# Simulates, with fixed seeds, rows shaped like the practice marts and writes them to tests/reference/data/
# (practice_check_ins.csv: marts.check_in_weekly; practice_goals.csv: marts.goals; practice_pathway.csv:
# marts.pathway), then R's results on them to tests/reference/practice_golden.json. Produced with R 4.2,
# survival 3.5.3 (Debian r-cran-survival).
suppressMessages({library(survival); library(jsonlite)})
here <- "tests/reference"
TIGHT <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-15)
out <- list(meta = list(r = R.version.string, survival = as.character(packageVersion("survival"))))

# Check-ins and relapse: weekly (start, stop] rows from enrollment (day 0) as marts.check_in_weekly, reached
# check-ins and attended sessions of the previous week, a relapse possible in any week; the last row may end
# mid-week (relapse or censoring on that day), so event days tie heavily (weeks end on multiples of 7).
set.seed(15)
ci <- do.call(rbind, lapply(seq_len(500), function(i) {
  weeks <- sample(3:40, 1)
  q <- rbeta(1, 1.2, 1.8)
  reached_prev <- 0; attended_prev <- 0
  rows <- NULL
  for (w in seq_len(weeks) - 1) {
    reached <- rbinom(1, 3, q)
    attended <- rpois(1, 1.2)
    last <- w == weeks - 1
    stop <- 7 * w + if (last) sample(1:7, 1) else 7
    rate <- 0.04 * exp(log(0.8) * reached_prev + log(0.85) * attended_prev)
    event <- as.integer(runif(1) < rate * (stop - 7 * w) / 7)
    rows <- rbind(rows, data.frame(participant_key = i, week = w, start_days = 7 * w, stop_days = stop,
                                   n_reached = reached, n_reached_prev_week = reached_prev,
                                   n_attended = attended, n_attended_prev_week = attended_prev,
                                   is_relapse = event))
    reached_prev <- reached; attended_prev <- attended
    if (event == 1) break
  }
  rows
}))
write.csv(ci, file.path(here, "data", "practice_check_ins.csv"), row.names = FALSE)
f <- coxph(Surv(start_days, stop_days, is_relapse) ~ n_reached_prev_week + n_attended_prev_week, data = ci,
           ties = "efron", control = TIGHT)
s <- summary(f)$coefficients
out$check_in_cox <- list(term = rownames(s), coef = unname(s[, "coef"]), se = unname(s[, "se(coef)"]),
                         loglik = f$loglik[2], n_events = f$nevent)

# Goals: met (1) or abandoned (2) competing, open goals censored (0), whole days, three domains.
set.seed(16)
n <- 600
domain <- sample(c("employment", "housing", "recovery"), n, replace = TRUE, prob = c(0.3, 0.3, 0.4))
t_met <- ceiling(rexp(n, 1 / 120)); t_ab <- ceiling(rexp(n, 1 / 300)); t_cens <- sample(0:400, n, replace = TRUE)
time <- pmin(t_met, t_ab, t_cens)
code <- ifelse(time == t_cens, 0L, ifelse(t_met <= t_ab, 1L, 2L))
goals <- data.frame(goal_id = sprintf("g%03d", seq_len(n)), domain = domain, time_days = time, event_code = code)
write.csv(goals, file.path(here, "data", "practice_goals.csv"), row.names = FALSE)
f <- survfit(Surv(time_days, factor(event_code)) ~ domain, data = goals)
out$goals_aj <- data.frame(group = sub(".*=", "", rep(names(f$strata), f$strata)), time = f$time,
                           met = f$pstate[, 2], abandoned = f$pstate[, 3])

# Pathway: completers' days to a first mentoring month, censored at the cutoff (one cause: 1 - Kaplan-Meier).
set.seed(17)
n <- 300
start <- ifelse(runif(n) < 0.25, sample(0:540, n, replace = TRUE), 10000L)
cens <- sample(30:700, n, replace = TRUE)
path <- data.frame(participant_key = seq_len(n), time_days = pmin(start, cens), is_mentor = as.integer(start <= cens))
write.csv(path, file.path(here, "data", "practice_pathway.csv"), row.names = FALSE)
f <- survfit(Surv(time_days, is_mentor) ~ 1, data = path)
out$pathway_km <- data.frame(time = f$time, cif = 1 - f$surv)

# Incidents: rates per 100 mentor-months (one-sample) and the unsupervised : supervised ratio (two-sample).
rate_case <- function(x1, t1, x0, t0) {
  two <- poisson.test(c(x1, x0), c(t1, t0))
  one <- poisson.test(x0, t0)
  list(x1 = x1, t1 = t1, x0 = x0, t0 = t0, ratio = unname(two$estimate), lower = two$conf.int[1],
       upper = two$conf.int[2], p = two$p.value, rate0_lower = 100 * one$conf.int[1], rate0_upper = 100 * one$conf.int[2])
}
out$incident_rates <- list(rate_case(588, 7500, 505, 18415), rate_case(3, 40, 9, 250), rate_case(0, 30, 4, 120))

# Check-in regularity: the t interval of the mean of each person's share of weeks reached.
set.seed(18)
shares <- round(rbeta(80, 1.5, 1.6), 4)
tt <- t.test(shares)
out$regularity <- list(shares = shares, mean = unname(tt$estimate), lower = tt$conf.int[1], upper = tt$conf.int[2])

write_json(out, file.path(here, "practice_golden.json"), digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE)
