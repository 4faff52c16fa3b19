using Calico.Netlink;

namespace Calico.Nftables;

/// <summary>
/// nft refused a command or transaction. The message names what was attempted and carries nft's own error text
/// (which quotes the offending line and marks the position). Nothing of a refused transaction was applied.
/// </summary>
public sealed class NftablesException : Exception
{
    public NftablesException(string operation, string errorText, Exception? innerException = null)
        : base(Format(operation, errorText), innerException)
    {
        Operation = operation;
        ErrorText = errorText;
        Errno = ParseErrno(errorText);
    }

    public NftablesException(string operation, int errno, string errorText)
        : base(Format(operation, errorText))
    {
        Operation = operation;
        ErrorText = errorText;
        Errno = errno;
    }

    /// <summary>What was attempted: "apply 5 commands to table inet calico (add chain ..., ...)".</summary>
    public string Operation { get; }

    /// <summary>nft's error output, as it printed it.</summary>
    public string ErrorText { get; }

    /// <summary>The kernel's error when nft reported one ("Could not process rule: Device or resource busy"); null for a parse error.</summary>
    public int? Errno { get; }

    public string? ErrnoName => Errno is { } errno ? Netlink.Errno.Name(errno) : null;

    /// <summary>
    /// Worth retrying unchanged: the kernel was busy or short of buffers, or a call or the batch's generation check was
    /// interrupted. Parse errors and EEXIST/ENOENT/EINVAL fail the same way until something changes.
    /// </summary>
    public bool IsTransient => Errno is Netlink.Errno.EBUSY or Netlink.Errno.ENOBUFS or Netlink.Errno.EAGAIN
        or Netlink.Errno.EINTR or Netlink.Errno.ETIMEDOUT or ERestart;

    /// <summary>The table (or the object a command names) does not exist.</summary>
    public bool IsNotFound => Errno == Netlink.Errno.ENOENT;

    // ERESTART: the kernel refused a batch whose generation check failed (someone committed in between).
    private const int ERestart = 85;

    private static readonly Lazy<Dictionary<string, int>> Messages = new(() =>
    {
        var messages = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var errno = 1; errno < 134; errno++) messages.TryAdd(Netlink.Errno.Describe(errno), errno);
        return messages;
    });

    private static string Format(string operation, string errorText) => $"nftables: {operation} failed: {errorText.Trim()}";

    /// <summary>
    /// nft prints kernel errors as "Error: Could not process rule: No such file or directory" (or "Error: No such
    /// file or directory; did you mean ..."); the text after the prefix is the C library's strerror of the errno.
    /// </summary>
    internal static int? ParseErrno(string errorText)
    {
        foreach (var rawLine in errorText.Split('\n'))
        {
            var line = rawLine.Trim();
            if (!line.StartsWith("Error: ", StringComparison.Ordinal)) continue;
            var message = line["Error: ".Length..];
            const string processPrefix = "Could not process rule: ";
            if (message.StartsWith(processPrefix, StringComparison.Ordinal)) message = message[processPrefix.Length..];
            var end = message.IndexOf(';');
            if (end >= 0) message = message[..end];
            if (Messages.Value.TryGetValue(message.Trim(), out var errno)) return errno;
        }
        return null;
    }
}
