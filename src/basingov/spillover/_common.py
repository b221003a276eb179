"""Shared pieces of the spillover modules: default rates, Monte Carlo spreads, methods."""

from __future__ import annotations

from typing import Literal, get_args

#: A single in-stream first-order loss rate k (1/day) for every reach: the routing kernels'
#: default (:func:`basingov.spillover.keep_factors`) and what ``[spillover] decay_per_day``
#: overrides the size classes with. Basin runs use decay classes by mean flow instead
#: (:data:`basingov.spillover.DEFAULT_DECAY_CLASSES`). The compilation in van der Perk, *Soil
#: and Water Contamination* (2nd ed.), Table 13.3, lists river nitrification/denitrification
#: rates of 0.1-0.6 d-1 (Thomann 1972), 0.04-0.2 d-1 ("model documentation values", EPA
#: 1985), 0.0-1.9 d-1 for the Rhine in the Netherlands (Admiraal & Botermans 1989) and
#: k_d = 0.05-0.1 d-1 for the Thames and Bedford Ouse (Whitehead et al.); 0.1 d-1 is their
#: low end.
DEFAULT_DECAY_PER_DAY = 0.1

#: Monte Carlo spread of k: lognormal with median the class rate and this sigma of ln k
#: (one draw multiplies every class rate; another, every lake settling velocity). 0.5 puts
#: the 5-95 % range at a factor ~2.3 either side of the median, the width of the literature
#: ranges above (e.g. 0.1-0.6 d-1). An assumption.
MC_DECAY_SIGMA_LN = 0.5

#: Monte Carlo spread of the velocity multiplier: lognormal, median 1, sigma of ln 0.3
#: (5-95 %: x0.61-x1.64), for the uncertainty of the hydraulic-geometry velocities. An
#: assumption.
MC_VELOCITY_SIGMA_LN = 0.3

#: Monte Carlo spread of each load source's coefficient multiplier: lognormal, median 1,
#: sigma of ln 0.12, from the inter-quartile range of per-p.e. TN loads of German plants in
#: UWWTD v6 (p25 9.81, p75 11.51 g/PE/day: sigma = ln(11.51/9.81)/1.349 = 0.12).
MC_LOAD_SIGMA_LN = 0.12

Method = Literal["auto", "sweep", "solve"]
_METHODS: tuple[str, ...] = get_args(Method)
