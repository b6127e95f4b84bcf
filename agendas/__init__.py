"""Sample agendas: installed as ``facilitator.samples.agendas`` (only the .yaml files matter)."""
