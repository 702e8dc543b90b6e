// Legacy RegExp statics (RegExp.$_, lastMatch…) keep the last input any regular
// expression saw, in this process, for as long as no other one runs. The enclave runs
// one over an empty string after each request so no chat text stays reachable there.

export function forgetRegExpInput(): void {
  /(?:)/.exec('');
}
