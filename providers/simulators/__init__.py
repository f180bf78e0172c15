"""Local HTTP simulators of the three providers, faithful to their documents.

They serve `meetbot simulate`, the demo and the tests. They follow the seed documents and
reference/providers.md, not our client: when the two disagree, the document decides.
"""
