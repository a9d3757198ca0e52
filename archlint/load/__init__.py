"""From a target (file, folder, module:attr) to built models and example inputs: discovery, construction
sites, init provenance, the meta device."""
