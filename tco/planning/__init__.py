"""From a demand forecast to a purchase plan: the forecast file (:mod:`~tco.planning.demand`)
and the fleets that serve it by month (:mod:`~tco.planning.fleet`: single-chip fleets and the
cheapest two-chip mix).

It may import the questions (each workload's best configuration per chip) and everything below;
never reporting or a command.
"""
