-- Indexes for the two library values every page of /library recomputes each second (issue 17): the number of
-- listed report families and the list of regions. Both were sequential scans of every report row (28 ms and
-- 10 ms per computation with 10,000 reports, once per second per worker while anyone reads the library, on
-- the CPU that nginx serves the cached pages from); read from these narrow partial indexes they take about
-- 2 ms and 0.2 ms (LibrarySearch.count and LibrarySearch.regions).

-- Listed reports by family: the unfiltered count is the number of distinct families (an index-only scan).
CREATE INDEX reports_library_family_idx ON reports (family_id, version)
    WHERE status = 'completed' AND visibility = 'public' AND NOT hidden;
-- Listed reports by region: the region list skips from one region to the next.
CREATE INDEX reports_library_region_idx ON reports (region)
    WHERE status = 'completed' AND visibility = 'public' AND NOT hidden;
