"""Results for people: the HTML and Markdown report (:mod:`~tco.reporting.document`), its charts,
the fleet plan's text and charts, the buyer's answer in words, and number formatting.

It may import every library layer below it (questions, planning, economics, perfmodel); never a
command or the app.
"""
