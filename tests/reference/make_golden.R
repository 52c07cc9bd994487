# Golden values from R `survival` (and geepack) for tests/reference/*: regenerate BY HAND, never in CI.
#
#   Rscript tests/reference/make_golden.R \
#     "$(.venv/bin/python -c 'import lifelines.datasets as d, os; print(os.path.dirname(d.__file__))')"
#
# Reads the data sets lifelines ships (waltons, rossi, lung, stanford_heart: the same rows the tests load
# with lifelines.datasets) plus tests/reference/data/competing_ties.csv, and writes
# tests/reference/golden.json (and tests/reference/data/dose_ties.csv, the rows of its tied late-entry
# time-varying case, generated here with a fixed seed). Produced with R 4.x, survival 3.5.3, geepack (Debian r-cran-*).
suppressMessages({library(survival); library(jsonlite); library(geepack)})
args <- commandArgs(trailingOnly = TRUE)
ds <- args[1]
here <- "tests/reference"
rd <- function(f) read.csv(file.path(ds, f))
waltons <- rd("waltons_dataset.csv")
rossi <- rd("rossi.csv")
lung <- rd("lung.csv")
heart <- rd("stanford_heart.csv")
cr <- read.csv(file.path(here, "data", "competing_ties.csv"))
out <- list(meta = list(r = R.version.string, survival = as.character(packageVersion("survival")),
                        geepack = as.character(packageVersion("geepack"))))

km_curve <- function(fit) {
  strata <- if (is.null(fit$strata)) rep("All", length(fit$time)) else
    sub(".*=", "", rep(names(fit$strata), fit$strata))
  data.frame(group = strata, time = fit$time, n_at_risk = fit$n.risk, n_events = fit$n.event,
             n_censored = fit$n.censor, survival = fit$surv, lower_95 = fit$lower, upper_95 = fit$upper)
}
km_median <- function(fit) {
  q <- quantile(fit, 0.5)
  g <- if (is.null(fit$strata)) "All" else sub(".*=", "", names(fit$strata))
  data.frame(group = g, median = as.vector(q$quantile), median_lower_95 = as.vector(q$lower),
             median_upper_95 = as.vector(q$upper))
}
km_at <- function(fit, times) {
  s <- summary(fit, times = times)
  g <- if (is.null(s$strata)) rep("All", length(s$time)) else sub(".*=", "", as.character(s$strata))
  data.frame(group = g, time = s$time, survival = s$surv, lower_95 = s$lower, upper_95 = s$upper,
             n_at_risk = s$n.risk)
}

# Kaplan–Meier: survfit(Surv(T, E) ~ group, data = waltons)   (conf.type = "log", the default)
f <- survfit(Surv(T, E) ~ group, data = waltons)
out$km_waltons <- list(curve = km_curve(f), median = km_median(f), at = km_at(f, c(10, 30, 50)))
f <- survfit(Surv(T, E) ~ group, data = waltons, conf.type = "log-log")
out$km_waltons_loglog <- list(curve = km_curve(f), median = km_median(f))
f <- survfit(Surv(week, arrest) ~ 1, data = rossi)
out$km_rossi <- list(curve = km_curve(f), median = km_median(f), at = km_at(f, c(10, 30, 52)))
# Medians on a flat 0.5: the midpoint rule (and the float-rounding case 5/6 * 4/5 * 3/4)
half <- list(a = data.frame(t = 1:4, e = 1), b = data.frame(t = 1:6, e = 1),
             c = data.frame(t = 1:4, e = c(1, 1, 0, 0)), d = data.frame(t = c(1, 2, 2, 3, 5, 8, 9, 12), e = c(1, 1, 0, 1, 1, 0, 1, 1)))
out$km_half <- lapply(half, function(d) km_median(survfit(Surv(t, e) ~ 1, data = d)))

# Log-rank: survdiff(Surv(T, E) ~ group, waltons); survdiff(Surv(time, status) ~ ph.ecog, lung);
#           survdiff(Surv(week, arrest) ~ fin + strata(wexp), rossi)
lr <- function(x) list(statistic = x$chisq, df = length(x$n) - 1,
                       p = pchisq(x$chisq, length(x$n) - 1, lower.tail = FALSE))
out$logrank <- list(
  waltons = lr(survdiff(Surv(T, E) ~ group, data = waltons)),
  lung_ecog = lr(survdiff(Surv(time, status) ~ ph.ecog, data = lung)),
  rossi_fin_strata_wexp = lr(survdiff(Surv(week, arrest) ~ fin + strata(wexp), data = rossi))
)
# RMST: print(survfit(...), rmean = tau)
rm <- function(fit, tau) {
  tb <- summary(fit, rmean = tau)$table
  if (is.null(dim(tb))) tb <- t(as.matrix(tb))
  data.frame(rmst = tb[, "rmean"], se = tb[, "se(rmean)"])
}
out$rmst <- list(
  waltons_50 = rm(survfit(Surv(T, E) ~ group, data = waltons), 50),
  rossi_fin_52 = rm(survfit(Surv(week, arrest) ~ fin, data = rossi), 52),
  rossi_30 = rm(survfit(Surv(week, arrest) ~ 1, data = rossi), 30)
)

# Cox: coxph(..., ties = "efron") and cox.zph(fit, transform = "km"), iterated to the optimum (TIGHT): R's
# default stops on a relative change of the log-likelihood below 1e-9, which leaves beta up to ~3e-8
# short of the maximum (lung, strata); the tests hold our fits to 1e-8 of the maximum itself.
TIGHT <- coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 100)
# coefficients with NA where R finds a term not estimable, and the model-based SE (NA there too)
na_fit <- function(f) {
  se <- sqrt(diag(vcov(f)))
  list(term = names(coef(f)), coef = unname(coef(f)), se = unname(se[names(coef(f))]))
}
cox_out <- function(fit) {
  s <- summary(fit)$coefficients
  se <- if ("robust se" %in% colnames(s)) s[, "robust se"] else s[, "se(coef)"]
  z <- cox.zph(fit, transform = "km")
  list(term = rownames(s), coef = unname(s[, "coef"]), se = unname(se), p = unname(s[, ncol(s)]),
       zph = data.frame(term = rownames(z$table), statistic = z$table[, "chisq"],
                        df = z$table[, "df"], p = z$table[, "p"]))
}
out$cox_rossi <- cox_out(coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi,
                               control = TIGHT))
lc <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog", "inst")])
lc$ecog <- relevel(factor(lc$ph.ecog), ref = "1")
out$cox_lung_cluster <- cox_out(coxph(Surv(time, status) ~ age + ecog, cluster = inst, data = lc, control = TIGHT))
out$cox_lung_strata <- cox_out(coxph(Surv(time, status) ~ age + ecog + strata(sex), cluster = inst, data = lc,
                                     control = TIGHT))
# Not estimable: age_months = 12 * age is collinear with age; `gone` is 1 only for three added rows censored
# at week 0.5, before the first event, so it is 0 in every risk set. R reports NA for both; the other
# coefficients are those of the model without them (the added rows are in no risk set).
rp <- rossi
rp$age_months <- 12 * rp$age
rp$gone <- 0
extra <- rp[1:3, ]
extra$week <- 0.5
extra$arrest <- 0
extra$gone <- 1
rp <- rbind(rp, extra)
out$cox_not_estimable <- na_fit(coxph(Surv(week, arrest) ~ fin + age + prio + age_months + gone, data = rp,
                                    control = TIGHT))
# One cluster: R refuses a robust SE (an error); what remains is the model-based SE of the same model.
rossi$one <- 1
out$cox_one_cluster <- list(
  error = tryCatch({coxph(Surv(week, arrest) ~ fin + age + prio, cluster = one, data = rossi); ""},
                   error = function(e) conditionMessage(e)),
  coef = unname(coef(coxph(Surv(week, arrest) ~ fin + age + prio, data = rossi, control = TIGHT))),
  se = unname(sqrt(diag(vcov(coxph(Surv(week, arrest) ~ fin + age + prio, data = rossi, control = TIGHT))))))
# Time-varying: coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart)
s <- summary(coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart,
                   control = TIGHT))$coefficients
out$cox_heart <- list(term = rownames(s), coef = unname(s[, "coef"]), se = unname(s[, "se(coef)"]))
# ... and with a collinear term (age_months = 12 * age): NA in R
heart$age_months <- 12 * heart$age
out$cox_heart_not_estimable <- na_fit(coxph(Surv(start, stop, event) ~ age + year + surgery + transplant + age_months,
                                            data = heart, control = TIGHT))
# ... and with tied event times and late entry: weekly (start, stop] rows of 400 people entering on day 0, 3,
# 7, 10, 14 or 21, a weekly dose (sessions the week before), events on the last day of a week. Weeks end on
# few distinct days, so events tie (31 of 45 event days have 2 to 8) and most rows start on a day on which
# others have an event (at risk only after their start). Some weeks are missing (gaps in follow-up) and the
# last row may end mid-week (censored). Written to data/dose_ties.csv, which the test reads.
set.seed(14)
dose_rows <- do.call(rbind, lapply(seq_len(400), function(i) {
  entry <- sample(c(0, 3, 7, 10, 14, 21), 1)
  age <- round(rnorm(1, 38, 10))
  site <- sample(c("A", "B", "C"), 1, prob = c(0.5, 0.3, 0.2))
  weeks <- sample(4:30, 1)
  prev <- 0
  out <- NULL
  for (k in seq_len(weeks) - 1) {
    dose <- rpois(1, 1.5)
    if (runif(1) < 0.1) { prev <- dose; next }  # a week with no row: not at risk then
    start <- entry + 7 * k
    stop <- start + if (k == weeks - 1) sample(1:7, 1) else 7
    rate <- 0.03 * exp(-0.3 * prev + 0.02 * (age - 38) + c(A = 0, B = 0.4, C = -0.3)[[site]])
    event <- as.integer(stop - start == 7 && runif(1) < rate)
    out <- rbind(out, data.frame(id = i, start = start, stop = stop, event = event, dose = prev, age = age,
                                 site = site))
    prev <- dose
    if (event == 1) break
  }
  out
}))
write.csv(dose_rows, file.path(here, "data", "dose_ties.csv"), row.names = FALSE)
f <- coxph(Surv(start, stop, event) ~ dose + age + site, data = dose_rows, ties = "efron", control = TIGHT)
s <- summary(f)$coefficients
out$cox_dose_ties <- list(term = rownames(s), coef = unname(s[, "coef"]), se = unname(s[, "se(coef)"]),
                          loglik = f$loglik[2], n_events = f$nevent)
# ... and without age: rows alike in interval, dose and site are many (the fit collapses them; analysis.efron)
f <- coxph(Surv(start, stop, event) ~ dose + site, data = dose_rows, ties = "efron", control = TIGHT)
s <- summary(f)$coefficients
out$cox_dose_ties_no_age <- list(term = rownames(s), coef = unname(s[, "coef"]), se = unname(s[, "se(coef)"]),
                                 loglik = f$loglik[2])

# Competing risks: survfit(Surv(time, factor(status)) ~ group, data = cr)  (multi-state Aalen–Johansen)
f <- survfit(Surv(time, factor(status)) ~ group, data = cr)
g <- sub(".*=", "", rep(names(f$strata), f$strata))
out$competing <- data.frame(group = g, time = f$time, cif1 = f$pstate[, 2], cif2 = f$pstate[, 3],
                            cif3 = f$pstate[, 4], se1 = f$std.err[, 2])

# Milestones: glm(arrest ~ fin + age + prio, binomial, rossi);
#             geeglm(status ~ age + sex, id = inst, binomial, corstr = "exchangeable", lung sorted by inst)
s <- summary(glm(arrest ~ fin + age + prio, family = binomial, data = rossi))$coefficients
out$logit_rossi <- list(term = rownames(s), coef = unname(s[, 1]), se = unname(s[, 2]))
out$logit_not_estimable <- na_fit(glm(arrest ~ fin + age + prio + age_months, family = binomial,
                                     data = rp[rp$gone == 0, ]))
lg <- na.omit(lung[, c("status", "age", "sex", "inst")])
lg <- lg[order(lg$inst), ]
s <- summary(geeglm(status ~ age + sex, id = inst, family = binomial, corstr = "exchangeable", data = lg))$coefficients
out$gee_lung <- list(term = rownames(s), coef = unname(s[, 1]), se = unname(s[, 2]))

write_json(out, file.path(here, "golden.json"), digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE)
cat("wrote", file.path(here, "golden.json"), "\n")
