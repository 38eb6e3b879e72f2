function done(summary, latency, requests)
  local errs = summary.errors
  io.write(string.format("non2xx_or_errors: status=%d connect=%d read=%d write=%d timeout=%d\n",
    errs.status, errs.connect, errs.read, errs.write, errs.timeout))
end
