//! Where the tools are: one table of tools (name, override variable, where
//! `ci/setup` puts it, install hint) and one way to find each.

use std::path::{Path, PathBuf};

use crate::error::HarnessError;

/// Finds a tool: the override variable, then tlsmatrix's own tools directory
/// (where `ci/setup` installs), then `PATH`.
pub fn locate(override_var: &str, tools_relative: &str, on_path: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(override_var).map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let tools = tools_dir().join(tools_relative);
    if tools.is_file() {
        return Some(tools);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(on_path))
            .find(|p| p.is_file())
    })
}

/// Where `ci/setup` installs real peers: `$TLSMATRIX_TOOLS`, else `.tools/` at the
/// workspace root.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("TLSMATRIX_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"))
}

/// A tool tlsmatrix runs: where it is looked for, in order, and what to do
/// when it is missing. The one place a tool's override variable and install
/// hint are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// Its name in requirements and errors (`openssl`).
    pub(crate) name: &'static str,
    /// The variable that overrides where it is (`TLSMATRIX_OPENSSL`); empty:
    /// none.
    pub(crate) override_var: &'static str,
    /// Where `ci/setup` puts it, under [`tools_dir`]; empty: nowhere.
    pub(crate) tools_relative: &'static str,
    /// Its file name on `PATH`.
    pub(crate) on_path: &'static str,
    /// A fixed path tried last (Debian's `/usr/sbin/nginx`); empty: none.
    pub(crate) fixed: &'static str,
    /// Where it was looked for, as the error says (`{npm}` stands for
    /// `npm/` in [`tools_dir`]).
    pub(crate) looked: &'static str,
    /// How to install it.
    pub(crate) install: &'static str,
}

impl Tool {
    /// Its path, when it is there.
    pub fn find(&self) -> Option<PathBuf> {
        locate(self.override_var, self.tools_relative, self.on_path).or_else(|| {
            Some(PathBuf::from(self.fixed)).filter(|p| !self.fixed.is_empty() && p.is_file())
        })
    }

    /// Its path, or [`HarnessError::PeerMissing`] saying where it was looked
    /// for and how to install it.
    pub fn locate(&self) -> Result<PathBuf, HarnessError> {
        self.find().ok_or_else(|| HarnessError::PeerMissing {
            peer: self.name.to_string(),
            detail: self
                .looked
                .replace("{npm}", &tools_dir().join("npm").display().to_string()),
            install: self.install.to_string(),
        })
    }
}

/// `openssl`, for every use: the documented recipes, keystores and
/// `openssl s_client` (one locator, one override).
pub const OPENSSL: Tool = Tool {
    name: "openssl",
    override_var: "TLSMATRIX_OPENSSL",
    tools_relative: "openssl/bin/openssl",
    on_path: "openssl",
    fixed: "",
    looked: "not at $TLSMATRIX_OPENSSL, not on PATH",
    install: "bash ci/setup (or: apt-get install openssl)",
};

/// `curl`.
pub const CURL: Tool = Tool {
    name: "curl",
    override_var: "",
    tools_relative: "curl",
    on_path: "curl",
    fixed: "",
    looked: "not on PATH",
    install: "bash ci/setup (or: apt-get install curl openssl)",
};

/// `kcat` (librdkafka).
pub const KCAT: Tool = Tool {
    name: "kcat",
    override_var: "TLSMATRIX_KCAT",
    tools_relative: "kcat",
    on_path: "kcat",
    fixed: "",
    looked: "not at $TLSMATRIX_KCAT or on PATH",
    install: "bash ci/setup (or: apt-get install kcat)",
};

/// The real `zbctl`, from the npm package `ci/setup` installs.
pub const ZBCTL: Tool = Tool {
    name: "zbctl",
    override_var: "TLSMATRIX_ZBCTL",
    tools_relative: "npm/node_modules/zbctl/bin/zbctl-cli.linux",
    on_path: "zbctl",
    fixed: "",
    looked: "not at $TLSMATRIX_ZBCTL, not in {npm}, not on PATH",
    install: "bash ci/setup (or: npm install --prefix .tools/npm zbctl@8.4.1)",
};

/// nginx (Debian's package installs it in `/usr/sbin`).
pub const NGINX: Tool = Tool {
    name: "nginx",
    override_var: "TLSMATRIX_NGINX",
    tools_relative: "nginx",
    on_path: "nginx",
    fixed: "/usr/sbin/nginx",
    looked: "not at $TLSMATRIX_NGINX, /usr/sbin/nginx or on PATH",
    install: "bash ci/setup (or: apt-get install nginx-light)",
};

/// The JDK's `keytool`.
pub const KEYTOOL: Tool = Tool {
    name: "keytool",
    override_var: "TLSMATRIX_KEYTOOL",
    tools_relative: "",
    on_path: "keytool",
    fixed: "",
    looked: "not at $TLSMATRIX_KEYTOOL or on PATH (needed for keystores)",
    install: "apt-get install openssl openjdk-17-jre-headless (keytool comes with the JDK)",
};

/// `java` (checked to be 17 or newer by [`super::jvm::java`], whose error
/// names the probe that needs it).
pub const JAVA: Tool = Tool {
    name: "java",
    override_var: "TLSMATRIX_JAVA",
    tools_relative: "",
    on_path: "java",
    fixed: "",
    looked: "no `java` on PATH (or at $TLSMATRIX_JAVA)",
    install: "bash ci/setup (or: apt-get install openjdk-17-jdk-headless)",
};

/// Every tool, for a listing.
pub const TOOLS: [Tool; 7] = [OPENSSL, CURL, KCAT, ZBCTL, NGINX, KEYTOOL, JAVA];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_says_how_to_install_it() {
        for tool in TOOLS {
            assert!(
                !tool.install.is_empty() && !tool.looked.is_empty(),
                "{tool:?}"
            );
            assert!(
                tool.override_var.is_empty() || tool.looked.contains(tool.override_var),
                "the error names the override: {tool:?}"
            );
        }
    }
}
