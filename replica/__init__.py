"""Local replicas of the Hangzhou target sites (杭州网, 中国杭州 JCMS, hzdaily e-papers, 浙江在线) for tests,
the demo and benchmarks. Start one with `replica.server.start()` or `python -m replica.server`."""
