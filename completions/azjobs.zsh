#compdef azjobs

_azjobs_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _AZJOBS_COMPLETE=complete_zsh azjobs)
}

compdef _azjobs_completion azjobs
