"""Stage 3: write the banks, the manifest, the index, the Tidal and Strudel files, the dendrogram and the reports."""
