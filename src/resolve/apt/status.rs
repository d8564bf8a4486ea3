//! What a base image already has installed: its `/var/lib/dpkg/status`,
//! reduced to the packages dpkg considers installed. The solver leaves out
//! every dependency these satisfy.

use super::index::{
    ARCHITECTURE, DEPENDS, Dep, IndexError, MULTI_ARCH, PACKAGE, PRE_DEPENDS, PROVIDES, Provided,
    SOURCE, STATUS, VERSION, check_version, field, for_each_paragraph, parse_conflicts,
    parse_provides, parse_relations, required,
};

/// One installed package of the base image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// `same`, `foreign`, `allowed` or `no`; absent means `no`.
    pub multi_arch: Option<String>,
    pub provides: Vec<Provided>,
    /// Source package name, when it differs from `name`: apt upgrades an
    /// installed package together with what it installs from the same source.
    pub source: Option<String>,
    /// Pre-Depends and Depends together: an upgrade that breaks one of
    /// these makes apt upgrade this package too.
    pub depends: Vec<Vec<Dep>>,
    /// `Conflicts` and `Breaks` together.
    pub conflicts: Vec<Dep>,
}

/// Parses a dpkg status file, keeping the entries whose `Status` is
/// `<want> ok installed` (`install`, `hold`, or even `deinstall`: the files
/// are on disk until someone runs dpkg). Half-installed, config-files-only
/// and not-installed entries are dropped.
pub fn parse_status(text: &str) -> Result<Vec<Installed>, IndexError> {
    let mut out = Vec::new();
    for_each_paragraph(text, |line, fields| {
        let installed = field(fields, STATUS).is_some_and(|s| {
            let mut words = s.split_whitespace();
            let (_want, flag, state) = (words.next(), words.next(), words.next());
            flag == Some("ok") && state == Some("installed")
        });
        if !installed {
            return Ok(());
        }
        let name = required(fields, PACKAGE, line, "installed package")?;
        let what = format!("installed package `{name}`");
        let bad = |id: usize, message: String| IndexError {
            line: fields[id].map_or(line, |(l, _)| l),
            message: format!("{what}: {message}"),
        };
        let version = required(fields, VERSION, line, &what)?;
        check_version(version).map_err(|m| bad(VERSION, m))?;
        let mut depends = Vec::new();
        for id in [PRE_DEPENDS, DEPENDS] {
            if let Some(v) = field(fields, id) {
                depends.extend(parse_relations(v).map_err(|m| bad(id, m))?);
            }
        }
        let source = field(fields, SOURCE)
            .map(|s| s.split('(').next().unwrap_or(s).trim())
            .filter(|s| *s != name)
            .map(str::to_string);
        out.push(Installed {
            name: name.to_string(),
            version: version.to_string(),
            architecture: required(fields, ARCHITECTURE, line, &what)?.to_string(),
            multi_arch: field(fields, MULTI_ARCH).map(str::to_ascii_lowercase),
            provides: match field(fields, PROVIDES) {
                Some(v) => {
                    parse_provides(v).map_err(|m| bad(PROVIDES, format!("Provides: {m}")))?
                }
                None => Vec::new(),
            },
            source,
            depends,
            conflicts: parse_conflicts(fields).map_err(|(id, m)| bad(id, m))?,
        });
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_FILE: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc (2.36-9)
Version: 2.36-9+deb12u10
Depends: libgcc-s1
Breaks: nscd (<< 2.36), locales (<< 2.36)
Conffiles:
 /etc/ld.so.conf.d/x86_64-linux-gnu.conf d4e7a7b88a71b5ffd9e2644e71a0cfab
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: mawk
Status: hold ok installed
Architecture: amd64
Multi-Arch: foreign
Version: 1.3.4.20200120-3.1
Provides: awk

Package: old-config
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: broken
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0

Package: gone
Status: purge ok not-installed
Architecture: amd64
";

    #[test]
    fn keeps_only_installed_entries() {
        let installed = parse_status(STATUS_FILE).unwrap();
        let names: Vec<&str> = installed.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["libc6", "mawk"]);
        assert_eq!(installed[0].version, "2.36-9+deb12u10");
        assert_eq!(installed[0].architecture, "amd64");
        assert_eq!(installed[0].multi_arch.as_deref(), Some("same"));
        assert_eq!(installed[0].source.as_deref(), Some("glibc"));
        assert_eq!(installed[0].depends.len(), 1);
        assert_eq!(installed[0].depends[0][0].name, "libgcc-s1");
        assert_eq!(installed[0].conflicts.len(), 2);
        assert_eq!(installed[1].multi_arch.as_deref(), Some("foreign"));
        assert_eq!(installed[1].source, None);
        assert_eq!(
            installed[1].provides,
            [Provided {
                name: "awk".into(),
                version: None
            }]
        );
    }

    #[test]
    fn an_installed_entry_without_version_is_an_error() {
        let err = parse_status("Package: x\nStatus: install ok installed\nArchitecture: all\n")
            .unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("Version"), "{err}");
    }

    #[test]
    fn empty_status_is_empty() {
        assert!(parse_status("").unwrap().is_empty());
        assert!(parse_status("\n\n").unwrap().is_empty());
    }
}
